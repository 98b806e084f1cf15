// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot-emu: the ivshmem server (see server.h for the protocol).
 *
 * One client only: the engine belongs to one guest.  A second connection is
 * refused by closing it; QEMU reports that as a failed chardev.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"

#define IVSHMEM_PROTOCOL_VERSION	0

static void close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* One protocol message: a little-endian int64, optionally with one fd. */
static int send_msg(int sock, int64_t value, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	uint64_t le = htole64((uint64_t)value);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cmsg;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* 8 bytes on a fresh stream socket go out whole or not at all. */
	return n == (ssize_t)sizeof(le) ? 0 : -EIO;
}

static int make_socket(struct emu_server *s, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *tmp;
	int fd, err;

	if (strlen(path) + 5 > sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	/*
	 * Bound and listening under a temporary name, then renamed: whoever
	 * waits for PATH to appear (vm/run-in-vm.sh) can connect at once.
	 */
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	strcpy(addr.sun_path, tmp);
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 1) < 0) {
		err = -errno;
		goto out_close;
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		goto out_close;
	}
	s->listen_fd = fd;
	free(tmp);
	return 0;

out_close:
	close(fd);
out_free:
	free(tmp);
	return err;
}

/**
 * server_open() - listen on @path, with BAR2 and the eventfds ready
 * @s: the server
 * @path: the UNIX socket QEMU's chardev connects to (must not exist)
 * @shm_size: bytes of BAR2, a power of two (QEMU maps the BAR that size)
 * @vectors: interrupt vectors per peer, as QEMU's ivshmem vectors=
 *
 * Return: 0, or a negative errno (nothing is left open or on disk).
 */
int server_open(struct emu_server *s, const char *path, size_t shm_size,
		unsigned int vectors)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->client_fd = s->shm_fd = -1;
	s->shm = MAP_FAILED;
	for (unsigned int i = 0; i < EMU_MAX_VECTORS; i++)
		s->doorbell_fd[i] = s->irq_fd[i] = -1;
	if (vectors < 1 || vectors > EMU_MAX_VECTORS ||
	    shm_size < 4096 || (shm_size & (shm_size - 1)))
		return -EINVAL;
	s->vectors = vectors;
	s->shm_size = shm_size;

	s->shm_fd = memfd_create("nhot-emu-bar2", MFD_CLOEXEC);
	if (s->shm_fd < 0 || ftruncate(s->shm_fd, (off_t)shm_size) < 0)
		goto fail_errno;
	s->shm = mmap(NULL, shm_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->shm_fd, 0);
	if (s->shm == MAP_FAILED)
		goto fail_errno;
	/*
	 * Blocking eventfds: QEMU clears O_NONBLOCK on the ones it receives
	 * (the open file is shared), so every read here is preceded by poll().
	 */
	for (unsigned int i = 0; i < vectors; i++) {
		s->doorbell_fd[i] = eventfd(0, EFD_CLOEXEC);
		s->irq_fd[i] = eventfd(0, EFD_CLOEXEC);
		if (s->doorbell_fd[i] < 0 || s->irq_fd[i] < 0)
			goto fail_errno;
	}
	s->path = strdup(path);
	if (!s->path) {
		err = -ENOMEM;
		goto fail;
	}
	err = make_socket(s, path);
	if (err)
		goto fail;
	return 0;

fail_errno:
	err = -errno;
fail:
	free(s->path);
	s->path = NULL;
	server_close(s);
	return err;
}

/**
 * server_accept() - take QEMU's connection and hand it the setup
 * @s: the server
 *
 * Return: 0; -EBUSY when a client is already connected (the new connection
 * is closed); another negative errno when the connection failed.
 */
int server_accept(struct emu_server *s)
{
	int fd, err;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (s->client_fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	err = send_msg(fd, IVSHMEM_PROTOCOL_VERSION, -1);
	if (!err)
		err = send_msg(fd, EMU_GUEST_PEER, -1);
	if (!err)
		err = send_msg(fd, -1, s->shm_fd);
	/* The device's eventfds: the guest rings them (doorbells). */
	for (unsigned int i = 0; !err && i < s->vectors; i++)
		err = send_msg(fd, EMU_DEVICE_PEER, s->doorbell_fd[i]);
	/* The guest's own: a write here is its MSI-X vector i. */
	for (unsigned int i = 0; !err && i < s->vectors; i++)
		err = send_msg(fd, EMU_GUEST_PEER, s->irq_fd[i]);
	if (err) {
		close(fd);
		return err;
	}
	s->client_fd = fd;
	return 0;
}

/**
 * server_client_gone() - whether QEMU closed its end
 * @s: the server, its client fd reported readable or hung up by poll()
 *
 * QEMU never sends anything after the setup: readable means end of file.
 *
 * Return: 1 when the client is gone (its fd is closed), else 0.
 */
int server_client_gone(struct emu_server *s)
{
	char c;
	ssize_t n;

	if (s->client_fd < 0)
		return 1;
	n = recv(s->client_fd, &c, 1, MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return 0;
	close(s->client_fd);
	s->client_fd = -1;
	return 1;
}

/**
 * server_doorbell_take() - consume the doorbell of one vector if it rang
 * @s: the server
 * @vector: the doorbell vector
 *
 * Return: 1 if the guest rang it since the last call, 0 if not, or a
 * negative errno.
 */
int server_doorbell_take(struct emu_server *s, unsigned int vector)
{
	struct pollfd pfd;
	uint64_t count;
	int n;

	if (vector >= s->vectors)
		return -EINVAL;
	pfd.fd = s->doorbell_fd[vector];
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0 || !(pfd.revents & POLLIN))
		return 0;
	if (read(pfd.fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
		return -errno;
	return 1;
}

/**
 * server_raise() - raise the guest's interrupt vector
 * @s: the server
 * @vector: the MSI-X vector
 *
 * Return: 0, or a negative errno (-EINVAL for a vector that is not wired).
 */
int server_raise(struct emu_server *s, unsigned int vector)
{
	uint64_t one = 1;

	if (vector >= s->vectors)
		return -EINVAL;
	if (write(s->irq_fd[vector], &one, sizeof(one)) != (ssize_t)sizeof(one))
		return -errno;
	return 0;
}

/**
 * server_close() - close everything and remove the socket file
 * @s: the server (may be partly opened)
 */
void server_close(struct emu_server *s)
{
	if (s->client_fd >= 0)
		close(s->client_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->path)
		unlink(s->path);
	close_fds(s->doorbell_fd, EMU_MAX_VECTORS);
	close_fds(s->irq_fd, EMU_MAX_VECTORS);
	if (s->shm != MAP_FAILED)
		munmap(s->shm, s->shm_size);
	if (s->shm_fd >= 0)
		close(s->shm_fd);
	free(s->path);
	s->path = NULL;
	s->client_fd = s->listen_fd = s->shm_fd = -1;
	s->shm = MAP_FAILED;
}
