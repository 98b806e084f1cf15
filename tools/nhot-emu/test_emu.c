// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot-emu on the host, without a guest: this program plays QEMU (it connects
 * to the socket and takes the ivshmem setup: version, peer id, BAR2 fd,
 * eventfds) and the driver (it lays out rings and page lists in the RAM file
 * and follows docs/hw.md).  It checks the protocol, the register page, the
 * reset handshake, jobs bit for bit against libnhot's nhot_ref_run(), every
 * fault the device must survive (bad pages, bad rings, bad descriptors) and
 * the test options (--inject-error, --stall, --die, --fatal, --bad-signature), usage
 * errors and a clean exit on SIGTERM and on QEMU going away.
 *
 * $NHOT_EMU is the emulator to run (scripts/tests.d/nhot-emu.sh passes the
 * ASan/UBSan build); default build/asan/bin/nhot-emu.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "nhot.h"
#include "hw/nhot_hw.h"
#include "../../userlib/tests/layer_gen.c"

#define RAM_SIZE	(64ULL << 20)
#define RING_ENTRIES	64
#define SQ_BASE		0x10000ULL
#define CQ_BASE		0x20000ULL
#define LIST_BASE	0x30000ULL	/* page lists, 64 KiB */
#define LIST_END	0x40000ULL
#define PAGE_BASE	0x100000ULL	/* data pages from here to the end */
#define IRQ_WAIT_MS	5000

/* The emulator and one connection to it, as QEMU holds it. */
struct emu {
	pid_t pid;
	int status;		/* its wait status once it exited */
	char dir[64];
	char sock[96];
	char ram_path[96];
	int err_fd;		/* the emulator's stderr */
	int fd;
	int shm_fd;
	volatile uint8_t *shm;
	size_t shm_size;
	int doorbell[2];	/* the device's eventfds: we ring them */
	int irq[2];		/* ours: the device raises them */
	uint8_t *ram;
	/* the driver's side */
	uint32_t sq_tail, cq_head;
	uint64_t next_list, next_page;
	uint64_t cookie;
};

static const char *emu_path(void)
{
	const char *p = getenv("NHOT_EMU");

	return p && *p ? p : "build/asan/bin/nhot-emu";
}

/* Runs nhot-emu with args (NULL-terminated) and waits for its socket. */
static int emu_start(struct emu *e, const char *const *extra)
{
	const char *argv[32];
	int n = 0, pipefd[2];
	struct stat st;

	memset(e, 0, sizeof(*e));
	e->fd = e->shm_fd = -1;
	e->doorbell[0] = e->doorbell[1] = e->irq[0] = e->irq[1] = -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_emu.XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	snprintf(e->sock, sizeof(e->sock), "%s/sock", e->dir);
	/* /dev/shm like vm/run-in-vm.sh; the emulator creates it */
	snprintf(e->ram_path, sizeof(e->ram_path), "/dev/shm/test_emu.%d.%s", getpid(),
		 e->dir + strlen("/tmp/test_emu."));
	argv[n++] = emu_path();
	argv[n++] = "--socket";
	argv[n++] = e->sock;
	argv[n++] = "--ram";
	argv[n++] = e->ram_path;
	argv[n++] = "--ram-size";
	argv[n++] = "64M";
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	e->pid = fork();
	if (e->pid < 0)
		return -errno;
	if (!e->pid) {
		dup2(pipefd[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	e->err_fd = pipefd[0];
	for (int i = 0; i < 500; i++) {
		if (!stat(e->sock, &st))
			return 0;
		if (waitpid(e->pid, &e->status, WNOHANG) == e->pid) {
			e->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* One int64 message, and its fd if one came (else *fd = -1). */
static int recv_msg(int sock, int64_t *val, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = val, .iov_len = sizeof(*val) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	if (n != sizeof(*val))
		return n < 0 ? -errno : -EPROTO;
	*fd = -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int emu_connect_sock(struct emu *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	strcpy(addr.sun_path, e->sock);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Connects as QEMU would; the setup's fields are checked by the caller. */
static int emu_connect(struct emu *e, int64_t setup[7])
{
	struct stat st;
	int fd, ram_fd;

	e->fd = emu_connect_sock(e);
	if (e->fd < 0)
		return e->fd;
	/* version, our id, -1 + shm fd, 2 x (device id + fd), 2 x (our id + fd) */
	if (recv_msg(e->fd, &setup[0], &fd) || fd >= 0)
		return -EPROTO;
	if (recv_msg(e->fd, &setup[1], &fd) || fd >= 0)
		return -EPROTO;
	if (recv_msg(e->fd, &setup[2], &e->shm_fd) || e->shm_fd < 0)
		return -EPROTO;
	for (int i = 0; i < 2; i++)
		if (recv_msg(e->fd, &setup[3 + i], &e->doorbell[i]) || e->doorbell[i] < 0)
			return -EPROTO;
	for (int i = 0; i < 2; i++)
		if (recv_msg(e->fd, &setup[5 + i], &e->irq[i]) || e->irq[i] < 0)
			return -EPROTO;
	if (fstat(e->shm_fd, &st))
		return -errno;
	e->shm_size = st.st_size;
	e->shm = mmap(NULL, e->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->shm_fd, 0);
	if (e->shm == MAP_FAILED)
		return -errno;
	ram_fd = open(e->ram_path, O_RDWR | O_CLOEXEC);
	if (ram_fd < 0)
		return -errno;
	e->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
	close(ram_fd);
	if (e->ram == MAP_FAILED)
		return -errno;
	e->next_list = LIST_BASE;
	e->next_page = PAGE_BASE;
	return 0;
}

/* Waits for the emulator to exit; its status, or -1 after timeout_ms. */
static int emu_wait_exit(struct emu *e, int timeout_ms)
{
	int status;

	for (int i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			e->pid = 0;
			return status;
		}
		usleep(10000);
	}
	return -1;
}

static void emu_stop(struct emu *e)
{
	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		if (emu_wait_exit(e, 5000) == -1) {
			kill(e->pid, SIGKILL);
			waitpid(e->pid, NULL, 0);
		}
	}
	if (e->ram && e->ram != MAP_FAILED)
		munmap(e->ram, RAM_SIZE);
	if (e->shm && e->shm != MAP_FAILED)
		munmap((void *)e->shm, e->shm_size);
	for (int i = 0; i < 2; i++) {
		if (e->doorbell[i] >= 0)
			close(e->doorbell[i]);
		if (e->irq[i] >= 0)
			close(e->irq[i]);
	}
	if (e->shm_fd >= 0)
		close(e->shm_fd);
	if (e->fd >= 0)
		close(e->fd);
	if (e->err_fd > 0)
		close(e->err_fd);
	unlink(e->ram_path);
	unlink(e->sock);
	rmdir(e->dir);
	e->pid = 0;
}

/* --- registers, doorbells, interrupts (the driver's side) ---------------- */

static uint32_t rd32(struct emu *e, unsigned int off)
{
	return __atomic_load_n((volatile uint32_t *)(e->shm + off), __ATOMIC_ACQUIRE);
}

static uint64_t rd64(struct emu *e, unsigned int off)
{
	return __atomic_load_n((volatile uint64_t *)(e->shm + off), __ATOMIC_ACQUIRE);
}

static void wr32(struct emu *e, unsigned int off, uint32_t v)
{
	__atomic_store_n((volatile uint32_t *)(e->shm + off), v, __ATOMIC_RELEASE);
}

static void wr64(struct emu *e, unsigned int off, uint64_t v)
{
	__atomic_store_n((volatile uint64_t *)(e->shm + off), v, __ATOMIC_RELEASE);
}

static void ring(struct emu *e, int vector)
{
	uint64_t one = 1;

	if (write(e->doorbell[vector], &one, sizeof(one)) != sizeof(one))
		abort();
}

/* 1 when the vector was raised within timeout_ms, else 0. */
static int wait_irq(struct emu *e, int vector, int timeout_ms)
{
	struct pollfd p = { .fd = e->irq[vector], .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	return read(e->irq[vector], &n, sizeof(n)) == sizeof(n);
}

/* Reset per docs/hw.md 8; RESET_ACK after it (== RESET_REQ on success). */
static uint32_t do_reset(struct emu *e, bool enable, uint64_t sq_base, uint32_t sq_entries)
{
	uint32_t req = rd32(e, NHOT_HW_REG_RESET_ACK) + 1;

	wr32(e, NHOT_HW_REG_CONTROL, enable ? NHOT_HW_CTRL_ENABLE : 0);
	wr32(e, NHOT_HW_REG_SQ_ENTRIES, sq_entries);
	wr32(e, NHOT_HW_REG_CQ_ENTRIES, RING_ENTRIES);
	wr64(e, NHOT_HW_REG_SQ_BASE, sq_base);
	wr64(e, NHOT_HW_REG_CQ_BASE, CQ_BASE);
	wr32(e, NHOT_HW_REG_SQ_TAIL, 0);
	wr32(e, NHOT_HW_REG_CQ_HEAD, 0);
	wr64(e, NHOT_HW_REG_ABORT, 0);
	wr32(e, NHOT_HW_REG_RESET_REQ, req);
	e->sq_tail = e->cq_head = 0;
	ring(e, NHOT_HW_DB_RESET);
	/* an earlier error may have left the vector raised: watch the ack */
	for (int waited = 0; waited < IRQ_WAIT_MS; waited += 20) {
		if (rd32(e, NHOT_HW_REG_RESET_ACK) == req)
			break;
		wait_irq(e, NHOT_HW_IRQ_ERROR, 20);
	}
	return rd32(e, NHOT_HW_REG_RESET_ACK);
}

/*
 * A buffer of len bytes at offset in its first page, its pages taken from
 * the pool in reverse order so that no two are adjacent: the device must
 * follow the list.  Copies data (or zeroes) in.
 */
static int buf_place(struct emu *e, struct nhot_hw_buf *b, const void *data, uint64_t len,
		     uint32_t offset)
{
	uint32_t pages = (offset + len + NHOT_HW_PAGE_SIZE - 1) / NHOT_HW_PAGE_SIZE;
	uint64_t *list = (uint64_t *)(e->ram + e->next_list), done = 0;

	if (e->next_list + pages * 8ULL > LIST_END ||
	    e->next_page + 2ULL * pages * NHOT_HW_PAGE_SIZE > RAM_SIZE)
		return -ENOSPC;
	b->pages = e->next_list;
	b->length = len;
	b->offset = offset;
	b->nr_pages = pages;
	e->next_list += (pages * 8ULL + 63) & ~63ULL;
	for (uint32_t i = 0; i < pages; i++) {
		/* every other page, last first */
		uint64_t pa = e->next_page + 2ULL * (pages - 1 - i) * NHOT_HW_PAGE_SIZE;
		uint64_t first = i ? 0 : offset, n = NHOT_HW_PAGE_SIZE - first;

		if (n > len - done)
			n = len - done;
		list[i] = pa;
		if (data)
			memcpy(e->ram + pa + first, (const uint8_t *)data + done, n);
		else
			memset(e->ram + pa + first, 0, n);
		done += n;
	}
	e->next_page += 2ULL * pages * NHOT_HW_PAGE_SIZE;
	return 0;
}

static void buf_read(struct emu *e, const struct nhot_hw_buf *b, uint8_t *out)
{
	const uint64_t *list = (const uint64_t *)(e->ram + b->pages);
	uint64_t done = 0;

	for (uint32_t i = 0; i < b->nr_pages; i++) {
		uint64_t first = i ? 0 : b->offset, n = NHOT_HW_PAGE_SIZE - first;

		if (n > b->length - done)
			n = b->length - done;
		memcpy(out + done, e->ram + list[i] + first, n);
		done += n;
	}
}

static void pool_reset(struct emu *e)
{
	e->next_list = LIST_BASE;
	e->next_page = PAGE_BASE;
}

/* Writes sqe at SQ_TAIL, moves SQ_TAIL, rings. */
static void submit(struct emu *e, struct nhot_hw_sqe *sqe)
{
	if (!sqe->cookie)
		sqe->cookie = ++e->cookie;
	memcpy(e->ram + SQ_BASE + (e->sq_tail % RING_ENTRIES) * sizeof(*sqe), sqe, sizeof(*sqe));
	e->sq_tail++;
	wr32(e, NHOT_HW_REG_SQ_TAIL, e->sq_tail);
	ring(e, NHOT_HW_DB_SUBMIT);
}

/* The next completion within timeout_ms: 0, or -ETIMEDOUT. */
static int reap(struct emu *e, struct nhot_hw_cqe *cqe, int timeout_ms)
{
	int64_t waited = 0;

	while (rd32(e, NHOT_HW_REG_CQ_TAIL) == e->cq_head) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		wait_irq(e, NHOT_HW_IRQ_COMPLETION, 50);
		waited += 50;
	}
	memcpy(cqe, e->ram + CQ_BASE + (e->cq_head % RING_ENTRIES) * sizeof(*cqe), sizeof(*cqe));
	e->cq_head++;
	wr32(e, NHOT_HW_REG_CQ_HEAD, e->cq_head);
	return 0;
}

/* A small ADD job: out = (a + b) / 2 in fixed point, 100 bytes. */
static void add_job(struct emu *e, struct nhot_hw_sqe *sqe, uint8_t *a, uint8_t *b)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->layer.type = NHOT_LAYER_ADD;
	sqe->layer.batch = 1;
	sqe->layer.in_h = 1;
	sqe->layer.in_w = 1;
	sqe->layer.in_c = 100;
	sqe->layer.in_zero = 128;
	sqe->layer.in2_zero = 120;
	sqe->layer.out_zero = 128;
	sqe->layer.act_max = 255;
	sqe->layer.add_mult_a = 1U << 30;
	sqe->layer.add_mult_b = 1U << 30;
	sqe->layer.add_shift = 31;
	for (int i = 0; i < 100; i++) {
		a[i] = i * 7;
		b[i] = 255 - i * 3;
	}
	if (buf_place(e, &sqe->buf[NHOT_HW_BUF_INPUT], a, 100, 4000) ||
	    buf_place(e, &sqe->buf[NHOT_HW_BUF_INPUT2], b, 100, 17) ||
	    buf_place(e, &sqe->buf[NHOT_HW_BUF_OUTPUT], NULL, 100, 4090))
		abort();
}

/* The ADD job's expected output, from the reference. */
static void add_expect(const struct nhot_hw_sqe *sqe, const uint8_t *a, const uint8_t *b,
		       uint8_t *want)
{
	struct nhot_tensors t = {
		.input = a, .input_len = 100, .input2 = b, .input2_len = 100,
		.output = want, .output_len = 100,
	};

	if (nhot_ref_run(&sqe->layer, &t, NULL))
		abort();
}

/* --- the fixture: a connected, reset, enabled emulator ------------------- */

FIXTURE(emu) {
	struct emu e;
};

FIXTURE_SETUP(emu)
{
	int64_t setup[7];

	ASSERT_EQ(0, emu_start(&self->e, NULL)) TH_LOG("starting %s", emu_path());
	ASSERT_EQ(0, emu_connect(&self->e, setup));
	ASSERT_EQ(1, do_reset(&self->e, true, SQ_BASE, RING_ENTRIES));
	ASSERT_EQ(NHOT_HW_STS_READY | NHOT_HW_STS_ENABLED, rd32(&self->e, NHOT_HW_REG_STATUS));
}

FIXTURE_TEARDOWN(emu)
{
	emu_stop(&self->e);
}

TEST_F(emu, setup_messages_and_register_page)
{
	struct emu e2;
	int64_t setup[7], v;
	char buf[8];
	int fd, got;

	/* the fixture's connection took them; a fresh emulator shows them */
	ASSERT_EQ(0, emu_start(&e2, NULL));
	ASSERT_EQ(0, emu_connect(&e2, setup));
	EXPECT_EQ(0, setup[0]);			/* protocol version */
	EXPECT_EQ(1, setup[1]);			/* the guest's peer id */
	EXPECT_EQ(-1, setup[2]);		/* the shared memory */
	EXPECT_EQ(2, setup[3]);			/* the device's doorbells */
	EXPECT_EQ(2, setup[4]);
	EXPECT_EQ(1, setup[5]);			/* the guest's own vectors */
	EXPECT_EQ(1, setup[6]);
	EXPECT_EQ(64 * 1024, e2.shm_size);
	memcpy(buf, (const void *)e2.shm, 8);
	EXPECT_EQ(0, memcmp(buf, "NHOTENG1", 8));
	EXPECT_EQ(NHOT_HW_VERSION(1, 0), rd32(&e2, NHOT_HW_REG_VERSION));
	EXPECT_EQ(2, rd32(&e2, NHOT_HW_REG_PEER_ID));
	EXPECT_EQ(2, rd32(&e2, NHOT_HW_REG_NUM_VECTORS));
	EXPECT_EQ(0x7e, rd32(&e2, NHOT_HW_REG_LAYER_TYPES));
	EXPECT_EQ(0x1e, rd32(&e2, NHOT_HW_REG_N_MASK));
	EXPECT_EQ(0x1fc, rd32(&e2, NHOT_HW_REG_B_MASK));
	EXPECT_EQ(64, rd32(&e2, NHOT_HW_REG_PE_COUNT));
	EXPECT_EQ(1000, rd32(&e2, NHOT_HW_REG_CLOCK_MHZ));
	EXPECT_EQ(NHOT_HW_STS_READY, rd32(&e2, NHOT_HW_REG_STATUS));
	EXPECT_EQ(0, rd32(&e2, NHOT_HW_REG_RESET_ACK));
	/* a second QEMU is refused: its connection is closed at once */
	fd = emu_connect_sock(&e2);
	ASSERT_LE(0, fd);
	EXPECT_NE(0, recv_msg(fd, &v, &got));
	close(fd);
	emu_stop(&e2);
}

/* Generated layers of every type, through scattered pages, bit for bit. */
TEST_F(emu, jobs_match_the_reference)
{
	struct layer_gen_rng rng;
	int ran = 0;

	layer_gen_seed(&rng, 0x656d75);
	for (int i = 0; i < 60; i++) {
		struct layer_gen_case c;
		struct nhot_hw_sqe sqe;
		struct nhot_hw_cqe cqe;
		struct nhot_counters ref;
		uint8_t *got;
		int fail, ret;

		ASSERT_EQ(0, layer_gen_make(&rng, 1 + i % NHOT_LAYER_TYPE_MAX, &c));
		memset(&sqe, 0, sizeof(sqe));
		sqe.layer = c.layer;
		pool_reset(&self->e);
		fail = c.input && buf_place(&self->e, &sqe.buf[NHOT_HW_BUF_INPUT], c.input,
					    c.t.input_len, i * 131 % 4096);
		fail |= c.input2 && buf_place(&self->e, &sqe.buf[NHOT_HW_BUF_INPUT2], c.input2,
					      c.t.input2_len, i * 17 % 4096);
		fail |= c.weights && buf_place(&self->e, &sqe.buf[NHOT_HW_BUF_WEIGHTS], c.weights,
					       c.t.weights_len, i * 999 % 4096);
		fail |= c.params && buf_place(&self->e, &sqe.buf[NHOT_HW_BUF_PARAMS], c.params,
					      c.t.params_len, i * 12 % 4096);
		fail |= buf_place(&self->e, &sqe.buf[NHOT_HW_BUF_OUTPUT], NULL, c.t.output_len,
				  4095 - i);
		if (fail) {		/* larger than this test's RAM */
			layer_gen_free(&c);
			continue;
		}
		ret = nhot_ref_run(&c.layer, &c.t, &ref);
		submit(&self->e, &sqe);
		ASSERT_EQ(0, reap(&self->e, &cqe, 30000)) TH_LOG("case %d", i);
		EXPECT_EQ(sqe.cookie, cqe.cookie);
		EXPECT_EQ(self->e.sq_tail - 1, cqe.sq_index);
		/* the reference's data errors are the device's statuses */
		if (ret) {
			EXPECT_EQ(ret == -EILSEQ ? NHOT_HW_CQE_BAD_CODE : NHOT_HW_CQE_BAD_PARAMS,
				  cqe.status) TH_LOG("case %d: reference %d", i, ret);
			layer_gen_free(&c);
			continue;
		}
		ASSERT_EQ(NHOT_HW_CQE_OK, cqe.status) TH_LOG("case %d", i);
		EXPECT_EQ(ref.macs, cqe.macs);
		EXPECT_EQ(ref.shift_adds, cqe.shift_adds);
		EXPECT_LT(0, cqe.cycles);
		got = malloc(c.t.output_len);
		ASSERT_NE(NULL, got);
		buf_read(&self->e, &sqe.buf[NHOT_HW_BUF_OUTPUT], got);
		EXPECT_EQ(0, memcmp(got, c.output, c.t.output_len)) TH_LOG("case %d", i);
		free(got);
		layer_gen_free(&c);
		ran++;
	}
	TH_LOG("%d of 60 cases fit this test's guest RAM and ran", ran);
	EXPECT_LE(30, ran);
}

/* Pages outside guest RAM fail the job, never the device. */
TEST_F(emu, bad_pages_are_dma_faults)
{
	uint8_t a[100], b[100], want[100], got[100];
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;
	uint64_t *list;

	add_job(&self->e, &sqe, a, b);
	list = (uint64_t *)(self->e.ram + sqe.buf[NHOT_HW_BUF_INPUT2].pages);
	list[0] = RAM_SIZE;			/* one page past the end */
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_DMA_FAULT, cqe.status);
	EXPECT_EQ(NHOT_HW_BUF_INPUT2, cqe.detail);

	list[0] = PAGE_BASE + 5;		/* not page aligned */
	sqe.cookie = 0;
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_DMA_FAULT, cqe.status);

	add_job(&self->e, &sqe, a, b);
	sqe.buf[NHOT_HW_BUF_OUTPUT].pages = UINT64_MAX - 7;	/* the list itself */
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_DMA_FAULT, cqe.status);

	add_job(&self->e, &sqe, a, b);
	sqe.buf[NHOT_HW_BUF_INPUT].nr_pages++;	/* does not match offset + length */
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_BAD_DESC, cqe.status);

	add_job(&self->e, &sqe, a, b);
	sqe.buf[NHOT_HW_BUF_OUTPUT].length = 99;	/* shorter than the layer */
	sqe.buf[NHOT_HW_BUF_OUTPUT].nr_pages = 2;
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_BAD_DESC, cqe.status);

	add_job(&self->e, &sqe, a, b);
	sqe.reserved[6] = 1;
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_BAD_DESC, cqe.status);

	/* the device goes on */
	add_job(&self->e, &sqe, a, b);
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	ASSERT_EQ(NHOT_HW_CQE_OK, cqe.status);
	add_expect(&sqe, a, b, want);
	buf_read(&self->e, &sqe.buf[NHOT_HW_BUF_OUTPUT], got);
	EXPECT_EQ(0, memcmp(want, got, 100));
	EXPECT_EQ(6, rd64(&self->e, NHOT_HW_REG_CNT_ERRORS));
	EXPECT_EQ(0, rd32(&self->e, NHOT_HW_REG_STATUS) & NHOT_HW_STS_ERROR);
}

/* Bad rings and indexes are fatal errors until a reset. */
TEST_F(emu, fatal_errors_until_reset)
{
	uint8_t a[100], b[100];
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;
	uint32_t ack;

	/* not a power of two; then outside RAM */
	ack = do_reset(&self->e, true, SQ_BASE, 48);
	EXPECT_EQ(2, ack);
	EXPECT_EQ(NHOT_HW_ERR_RING_CONFIG, rd32(&self->e, NHOT_HW_REG_ERROR));
	EXPECT_TRUE(rd32(&self->e, NHOT_HW_REG_STATUS) & NHOT_HW_STS_ERROR);
	EXPECT_EQ(3, do_reset(&self->e, true, RAM_SIZE - 4096, RING_ENTRIES));
	EXPECT_EQ(NHOT_HW_ERR_RING_CONFIG, rd32(&self->e, NHOT_HW_REG_ERROR));
	EXPECT_EQ(4, do_reset(&self->e, true, SQ_BASE + 8, RING_ENTRIES));	/* unaligned */
	EXPECT_EQ(NHOT_HW_ERR_RING_CONFIG, rd32(&self->e, NHOT_HW_REG_ERROR));

	/* a tail beyond the ring */
	EXPECT_EQ(5, do_reset(&self->e, true, SQ_BASE, RING_ENTRIES));
	EXPECT_EQ(0, rd32(&self->e, NHOT_HW_REG_ERROR));
	wr32(&self->e, NHOT_HW_REG_SQ_TAIL, RING_ENTRIES + 1);
	ring(&self->e, NHOT_HW_DB_SUBMIT);
	ASSERT_EQ(1, wait_irq(&self->e, NHOT_HW_IRQ_ERROR, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_ERR_SQ_INDEX, rd32(&self->e, NHOT_HW_REG_ERROR));
	EXPECT_EQ(RING_ENTRIES + 1, rd64(&self->e, NHOT_HW_REG_ERROR_INFO));

	/* stopped: a job waits for the reset, then runs */
	EXPECT_EQ(6, do_reset(&self->e, true, SQ_BASE, RING_ENTRIES));
	EXPECT_EQ(NHOT_HW_STS_READY | NHOT_HW_STS_ENABLED, rd32(&self->e, NHOT_HW_REG_STATUS));
	add_job(&self->e, &sqe, a, b);
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_OK, cqe.status);
	EXPECT_EQ(6, rd64(&self->e, NHOT_HW_REG_CNT_RESETS));

	/* disabled: no job is fetched */
	EXPECT_EQ(7, do_reset(&self->e, false, 0, 0));
	EXPECT_EQ(NHOT_HW_STS_READY, rd32(&self->e, NHOT_HW_REG_STATUS));
	submit(&self->e, &sqe);
	EXPECT_EQ(-ETIMEDOUT, reap(&self->e, &cqe, 300));
	EXPECT_EQ(0, rd32(&self->e, NHOT_HW_REG_SQ_HEAD));
}

/* ABORT naming a job not yet started completes it ABORTED without running. */
TEST_F(emu, abort_before_start)
{
	uint8_t a[100], b[100], got[100];
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;

	add_job(&self->e, &sqe, a, b);
	sqe.cookie = 0x1234;
	wr64(&self->e, NHOT_HW_REG_ABORT, 0x1234);
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(0x1234, cqe.cookie);
	EXPECT_EQ(NHOT_HW_CQE_ABORTED, cqe.status);
	buf_read(&self->e, &sqe.buf[NHOT_HW_BUF_OUTPUT], got);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(0, got[i]);
}

/* SIGTERM: exit 0, socket and RAM file gone. */
TEST_F(emu, sigterm_exits_cleanly)
{
	int status;

	ASSERT_EQ(0, kill(self->e.pid, SIGTERM));
	status = emu_wait_exit(&self->e, 5000);
	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(0, access(self->e.sock, F_OK));
	EXPECT_NE(0, access(self->e.ram_path, F_OK));
}

/* QEMU going away ends the emulator the same way. */
TEST_F(emu, qemu_gone_exits_cleanly)
{
	int status;

	close(self->e.fd);
	self->e.fd = -1;
	status = emu_wait_exit(&self->e, 5000);
	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(0, access(self->e.sock, F_OK));
	EXPECT_NE(0, access(self->e.ram_path, F_OK));
}

/* --- the test options --------------------------------------------------- */

FIXTURE(faults) {
	struct emu e;
	uint8_t a[100], b[100], want[100], got[100];
};

FIXTURE_SETUP(faults)
{
	static const char *const args[] = {
		"--inject-error", "2", "--stall", "4", "--die", "6", NULL,
	};
	int64_t setup[7];

	ASSERT_EQ(0, emu_start(&self->e, args));
	ASSERT_EQ(0, emu_connect(&self->e, setup));
	ASSERT_EQ(1, do_reset(&self->e, true, SQ_BASE, RING_ENTRIES));
}

FIXTURE_TEARDOWN(faults)
{
	emu_stop(&self->e);
}

/* 1 ok, 2 error, 3 ok, 4 stalls until a reset, 5 ok, 6 kills the emulator. */
TEST_F(faults, error_stall_die)
{
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;
	int status;

	for (int job = 1; job <= 3; job++) {
		add_job(&self->e, &sqe, self->a, self->b);
		submit(&self->e, &sqe);
		ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
		EXPECT_EQ(job == 2 ? NHOT_HW_CQE_INTERNAL : NHOT_HW_CQE_OK, cqe.status)
			TH_LOG("job %d", job);
	}
	add_job(&self->e, &sqe, self->a, self->b);
	submit(&self->e, &sqe);
	EXPECT_EQ(-ETIMEDOUT, reap(&self->e, &cqe, 500));
	EXPECT_TRUE(rd32(&self->e, NHOT_HW_REG_STATUS) & NHOT_HW_STS_BUSY);
	EXPECT_EQ(2, do_reset(&self->e, true, SQ_BASE, RING_ENTRIES));

	add_job(&self->e, &sqe, self->a, self->b);
	submit(&self->e, &sqe);
	ASSERT_EQ(0, reap(&self->e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_OK, cqe.status);
	add_expect(&sqe, self->a, self->b, self->want);
	buf_read(&self->e, &sqe.buf[NHOT_HW_BUF_OUTPUT], self->got);
	EXPECT_EQ(0, memcmp(self->want, self->got, 100));

	add_job(&self->e, &sqe, self->a, self->b);
	submit(&self->e, &sqe);
	status = emu_wait_exit(&self->e, 5000);
	ASSERT_NE(-1, status);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(-ETIMEDOUT, reap(&self->e, &cqe, 100));
	EXPECT_NE(0, access(self->e.sock, F_OK));
	EXPECT_NE(0, access(self->e.ram_path, F_OK));
}

/*
 * --fatal 2: job 1 ok; job 2 stops the device (ERROR INTERNAL, ERROR_INFO
 * its ring index 1, STATUS.ERROR, the error vector) without a completion,
 * and job 3 waits unfetched until the reset, then runs bit for bit.
 */
TEST(fatal_until_reset)
{
	static const char *const args[] = { "--fatal", "2", NULL };
	uint8_t a[100], b[100], want[100], got[100];
	struct nhot_hw_sqe sqe;
	struct nhot_hw_cqe cqe;
	int64_t setup[7];
	struct emu e;

	ASSERT_EQ(0, emu_start(&e, args));
	ASSERT_EQ(0, emu_connect(&e, setup));
	ASSERT_EQ(1, do_reset(&e, true, SQ_BASE, RING_ENTRIES));
	add_job(&e, &sqe, a, b);
	submit(&e, &sqe);
	ASSERT_EQ(0, reap(&e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_OK, cqe.status);
	/* the reset's acknowledgment raised the error vector too: drop it */
	wait_irq(&e, NHOT_HW_IRQ_ERROR, 0);

	add_job(&e, &sqe, a, b);
	submit(&e, &sqe);
	ASSERT_EQ(1, wait_irq(&e, NHOT_HW_IRQ_ERROR, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_STS_READY | NHOT_HW_STS_ENABLED | NHOT_HW_STS_ERROR,
		  rd32(&e, NHOT_HW_REG_STATUS));
	EXPECT_EQ(NHOT_HW_ERR_INTERNAL, rd32(&e, NHOT_HW_REG_ERROR));
	EXPECT_EQ(1, rd64(&e, NHOT_HW_REG_ERROR_INFO));
	EXPECT_EQ(2, rd32(&e, NHOT_HW_REG_SQ_HEAD));
	EXPECT_EQ(-ETIMEDOUT, reap(&e, &cqe, 300));

	/* stopped: another descriptor is not fetched */
	add_job(&e, &sqe, a, b);
	submit(&e, &sqe);
	EXPECT_EQ(-ETIMEDOUT, reap(&e, &cqe, 300));
	EXPECT_EQ(2, rd32(&e, NHOT_HW_REG_SQ_HEAD));
	EXPECT_EQ(1, rd64(&e, NHOT_HW_REG_CNT_JOBS));

	/* only the reset clears it; then jobs run bit for bit */
	EXPECT_EQ(2, do_reset(&e, true, SQ_BASE, RING_ENTRIES));
	EXPECT_EQ(NHOT_HW_STS_READY | NHOT_HW_STS_ENABLED, rd32(&e, NHOT_HW_REG_STATUS));
	EXPECT_EQ(NHOT_HW_ERR_NONE, rd32(&e, NHOT_HW_REG_ERROR));
	EXPECT_EQ(0, rd64(&e, NHOT_HW_REG_ERROR_INFO));
	add_job(&e, &sqe, a, b);
	submit(&e, &sqe);
	ASSERT_EQ(0, reap(&e, &cqe, IRQ_WAIT_MS));
	EXPECT_EQ(NHOT_HW_CQE_OK, cqe.status);
	add_expect(&sqe, a, b, want);
	buf_read(&e, &sqe.buf[NHOT_HW_BUF_OUTPUT], got);
	EXPECT_EQ(0, memcmp(want, got, 100));
	EXPECT_EQ(2, rd64(&e, NHOT_HW_REG_CNT_JOBS));
	emu_stop(&e);
}

/* --- other emulators ----------------------------------------------------- */

TEST(bad_signature)
{
	static const char *const args[] = { "--bad-signature", NULL };
	struct emu e;
	int64_t setup[7];

	ASSERT_EQ(0, emu_start(&e, args));
	ASSERT_EQ(0, emu_connect(&e, setup));
	EXPECT_NE(NHOT_HW_SIGNATURE, rd64(&e, NHOT_HW_REG_SIGNATURE));
	EXPECT_EQ(NHOT_HW_VERSION(1, 0), rd32(&e, NHOT_HW_REG_VERSION));
	emu_stop(&e);
}

/* One vector wired: QEMU gets one eventfd per peer; errors come on vector 0. */
TEST(one_vector)
{
	static const char *const args[] = { "--vectors", "1", NULL };
	struct pollfd p = { .events = POLLIN };
	struct emu e;
	int64_t v;
	int fd, got = 0;

	ASSERT_EQ(0, emu_start(&e, args));
	e.fd = emu_connect_sock(&e);
	ASSERT_LE(0, e.fd);
	p.fd = e.fd;
	/* version, id, shm, device + fd, guest + fd, then nothing more */
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, recv_msg(e.fd, &v, &fd)) TH_LOG("message %d", i);
		if (fd >= 0) {
			got++;
			close(fd);
		}
	}
	EXPECT_EQ(3, got);
	EXPECT_EQ(0, poll(&p, 1, 200));
	emu_stop(&e);
}

/* Usage errors: one line on stderr, exit 2, nothing left on disk. */
TEST(usage_errors)
{
	static const char *const cases[][4] = {
		{ "--vectors", "0", NULL },
		{ "--vectors", "65", NULL },
		{ "--ram-size", "3", NULL },
		{ "--ram-size", "5G", NULL },
		{ "--shm-size", "12K", NULL },
		{ "--die", "0", NULL },
		{ "--fatal", "0", NULL },
		{ "--fatal", NULL },
		{ "--stall", "x", NULL },
		{ "--no-such-option", NULL },
		{ "stray", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu e;
		char err[512] = { 0 };
		int lines = 0;
		ssize_t n;

		ASSERT_EQ(-ECHILD, emu_start(&e, cases[i])) TH_LOG("case %zu", i);
		EXPECT_TRUE(WIFEXITED(e.status));
		EXPECT_EQ(2, WEXITSTATUS(e.status)) TH_LOG("case %zu", i);
		n = read(e.err_fd, err, sizeof(err) - 1);
		close(e.err_fd);
		ASSERT_LT(0, n);
		for (char *p = err; *p; p++)
			lines += *p == '\n';
		EXPECT_EQ(1, lines) TH_LOG("case %zu: %s", i, err);
		EXPECT_EQ(0, strncmp(err, "nhot-emu: ", 10)) TH_LOG("%s", err);
		EXPECT_NE(0, access(e.sock, F_OK));
		EXPECT_NE(0, access(e.ram_path, F_OK));
		rmdir(e.dir);
	}
}

TEST_HARNESS_MAIN
