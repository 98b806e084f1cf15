# Installing nhot like a driver stack: the shared library, make install,
# the DKMS source tree and the Debian packages.
#
#   make shared-lib    build/host/libnhot.so.1.1.0 (+ the .so.1 and .so links)
#   make install       PREFIX (/usr/local) and DESTDIR (empty): libnhot.so
#                      and libnhot.a, the public headers (in INCLUDEDIR/nhot,
#                      <linux/nhot.h> and <linux/nhot_netlink.h> among
#                      them), nhot.pc, the host tools, their man pages,
#                      the udev rule and the modprobe.d example
#   make uninstall     removes exactly what make install put there
#   make install-dkms  the module's sources and dkms.conf into
#                      DESTDIR/usr/src/nhot-VERSION, for dkms add/build/install
#   make debs          dpkg-buildpackage -us -uc -b from a clean export of the
#                      committed tree; the .debs land in build/debs/
#   make debs-check    the .debs unpacked into a scratch root and used there
#   make dkms-check    real dkms add/build for every installed kernel's headers
#
# Paths follow the GNU names; override any of them on the command line
# (debian/rules does: PREFIX=/usr, LIBDIR=/usr/lib/<multiarch>).

NHOT_VERSION := 1.1.0
NHOT_SOMAJOR := 1

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/nhot
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# udev reads rules only from /etc and /lib (/usr/lib), never from /usr/local:
# a local install puts its rule where the administrator's rules live.
UDEVRULESDIR ?= /etc/udev/rules.d
DKMSSRCDIR   ?= /usr/src/nhot-$(NHOT_VERSION)
DESTDIR      ?=

INSTALL      ?= install

# --- the shared library -----------------------------------------------------
# The same -fPIC objects as libnhot.a; the version script keeps everything but
# the public nhot_* functions local. -z defs: an unresolved symbol is a link
# error here, not a surprise for the first program that loads the library.
LIBNHOT_MAP    := userlib/libnhot.map
LIBNHOT_SONAME := libnhot.so.$(NHOT_SOMAJOR)
LIBNHOT_SO     := $(BUILD)/host/libnhot.so.$(NHOT_VERSION)
LIBNHOT_SO_LDLIBS := $(LIBNHOT_LDLIBS) $(filter-out $(LIBNHOT_LDLIBS),-lz)

$(LIBNHOT_SO): $(LIB_OBJS) $(LIBNHOT_MAP)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(LIBNHOT_SONAME) -Wl,--version-script=$(LIBNHOT_MAP) \
		-Wl,-z,defs -Wl,-z,relro -Wl,-z,now -o $@ $(LIB_OBJS) $(LIBNHOT_SO_LDLIBS)
	ln -sf $(@F) $(@D)/$(LIBNHOT_SONAME)
	ln -sf $(LIBNHOT_SONAME) $(@D)/libnhot.so

.PHONY: shared-lib
shared-lib: $(LIBNHOT_SO)

# --- pkg-config -------------------------------------------------------------
# Regenerated on every install: its paths are the install's, not the build's.
NHOT_PC := $(BUILD)/packaging/nhot.pc

.PHONY: FORCE-nhot-pc
$(NHOT_PC): packaging/nhot.pc.in FORCE-nhot-pc
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(NHOT_VERSION)|g' $< > $@

# --- make install / uninstall -----------------------------------------------
# The host tools only (the static nhot-run is the VM's); man pages are
# tools/<tool>/<tool>.<section>, each goes to its section.
INSTALL_TOOLS := $(filter $(BUILD)/host/bin/%,$(TOOLS))
INSTALL_MANS  := $(sort $(wildcard tools/*/*.[1-8]))
PUBLIC_HDRS   := userlib/include/nhot.h userlib/include/nhot_model.h \
		 userlib/include/nhot_fmodel.h
UDEV_RULE     := packaging/60-nhot.rules
MODPROBE_EX   := packaging/nhot-modprobe.conf

.PHONY: install uninstall install-dkms
install: $(LIBNHOT_SO) $(LIBNHOT) $(INSTALL_TOOLS) $(NHOT_PC)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/nhot/linux $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0644 $(LIBNHOT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libnhot.so.$(NHOT_VERSION) $(DESTDIR)$(LIBDIR)/$(LIBNHOT_SONAME)
	ln -sf $(LIBNHOT_SONAME) $(DESTDIR)$(LIBDIR)/libnhot.so
	$(INSTALL) -m 0644 $(LIBNHOT) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 0644 $(NHOT_PC) $(DESTDIR)$(PKGCONFIGDIR)/
	$(INSTALL) -m 0644 $(PUBLIC_HDRS) $(DESTDIR)$(INCLUDEDIR)/nhot/
	$(INSTALL) -m 0644 uapi/linux/nhot.h uapi/linux/nhot_netlink.h $(DESTDIR)$(INCLUDEDIR)/nhot/linux/
	$(INSTALL) -m 0755 $(INSTALL_TOOLS) $(DESTDIR)$(BINDIR)/
	@set -e; for m in $(INSTALL_MANS); do \
		s=$${m##*.}; \
		echo "$(INSTALL) -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}"; \
		$(INSTALL) -D -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done
	$(INSTALL) -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/
	$(INSTALL) -m 0644 $(MODPROBE_EX) $(DESTDIR)$(DOCDIR)/examples/
	@# A live install (no DESTDIR) as root: let the loader see libnhot.so.1.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libnhot.so.$(NHOT_VERSION) \
	      $(DESTDIR)$(LIBDIR)/$(LIBNHOT_SONAME) $(DESTDIR)$(LIBDIR)/libnhot.so \
	      $(DESTDIR)$(LIBDIR)/libnhot.a $(DESTDIR)$(PKGCONFIGDIR)/nhot.pc \
	      $(DESTDIR)$(UDEVRULESDIR)/$(notdir $(UDEV_RULE)) \
	      $(DESTDIR)$(DOCDIR)/examples/$(notdir $(MODPROBE_EX)) \
	      $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_TOOLS)))
	rm -rf $(DESTDIR)$(INCLUDEDIR)/nhot
	@for m in $(INSTALL_MANS); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; \
	done
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then echo ldconfig; ldconfig; fi

# The module's sources as driver/rules.mk lists them (its host test aside),
# laid out as in the tree so the top-level Kbuild works unchanged.
DKMS_SRCS := $(filter-out %/test_model_vs_ref.c,$(KMOD_SRCS))

install-dkms: dkms.conf $(DKMS_SRCS)
	$(INSTALL) -d $(DESTDIR)$(DKMSSRCDIR)
	$(INSTALL) -m 0644 dkms.conf $(DESTDIR)$(DKMSSRCDIR)/
	@set -e; for f in $(DKMS_SRCS); do \
		$(INSTALL) -D -m 0644 $$f $(DESTDIR)$(DKMSSRCDIR)/$$f; \
	done
	@echo "installed $(words $(DKMS_SRCS)) module sources into $(DESTDIR)$(DKMSSRCDIR)"

# --- Debian packages --------------------------------------------------------
# Built from `git archive HEAD` so that nothing uncommitted or generated in
# this tree leaks into a package; needs debhelper and dh-dkms (see debian/control).
DEBS_DIR := $(BUILD)/debs

.PHONY: debs setup-packaging
setup-packaging:
	@$(TOP)/scripts/setup.sh packaging

debs: setup-packaging
	@dpkg-checkbuilddeps debian/control || \
		{ echo "make debs: install the build dependencies above (apt-get install ...)" >&2; exit 1; }
	rm -rf $(DEBS_DIR) && mkdir -p $(DEBS_DIR)/src
	git archive --format=tar HEAD | tar -x -C $(DEBS_DIR)/src
	cd $(DEBS_DIR)/src && dpkg-buildpackage -us -uc -b
	@ls -l $(DEBS_DIR)/*.deb

# --- DKMS, for real ---------------------------------------------------------
.PHONY: dkms-check
dkms-check: setup-packaging
	packaging/dkms-check.sh

# The .debs of make debs, unpacked into a scratch root and used from there.
.PHONY: debs-check
debs-check:
	packaging/debs-check.sh
