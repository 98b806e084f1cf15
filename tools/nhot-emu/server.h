/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * nhot-emu: the ivshmem-doorbell server side (QEMU's ivshmem protocol).
 *
 * QEMU's ivshmem-doorbell device connects to a UNIX socket and expects, in
 * this order: the protocol version (int64 0), its own peer id, the shared
 * memory fd (int64 -1 with the fd in SCM_RIGHTS), then for every other peer
 * one message per interrupt vector (that peer's id with one eventfd), and
 * last one message per vector with its own id and its own eventfds.  The
 * emulated engine is the one "other peer": the guest rings it by writing
 * (device id << 16) | vector to the ivshmem Doorbell register, which makes
 * the device's eventfd for that vector readable here; the device raises the
 * guest's MSI-X vector v by writing to the guest's eventfd v.
 */
#ifndef NHOT_EMU_SERVER_H
#define NHOT_EMU_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* The most vectors QEMU's ivshmem accepts per peer (IVSHMEM_MAX_VECTORS... is
 * not exported; 64 is far more than any engine needs). */
#define EMU_MAX_VECTORS	64

/* Peer ids: the guest is peer 1, the engine peer 2 (published in BAR2). */
#define EMU_GUEST_PEER	1
#define EMU_DEVICE_PEER	2

struct emu_server {
	char *path;		/* the socket's path, unlinked on close */
	int listen_fd;
	int client_fd;		/* -1 until QEMU connected */
	int shm_fd;		/* memfd behind BAR2 */
	size_t shm_size;
	void *shm;		/* mapped BAR2 */
	unsigned int vectors;
	int doorbell_fd[EMU_MAX_VECTORS];	/* guest -> device */
	int irq_fd[EMU_MAX_VECTORS];		/* device -> guest */
};

int server_open(struct emu_server *s, const char *path, size_t shm_size,
		unsigned int vectors);
int server_accept(struct emu_server *s);
int server_client_gone(struct emu_server *s);
int server_doorbell_take(struct emu_server *s, unsigned int vector);
int server_raise(struct emu_server *s, unsigned int vector);
void server_close(struct emu_server *s);

#endif /* NHOT_EMU_SERVER_H */
