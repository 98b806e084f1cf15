/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nhot: n-hot quantized neural-network accelerator, character-device ABI.
 *
 * Every engine is a character device /dev/nhotN.  The arithmetic of every
 * layer is specified in docs/arith.md; the ioctls are documented in
 * docs/uapi.md.  The rules that keep this ABI extensible:
 *
 *  - an ioctl is named by its type (%NHOT_IOCTL_TYPE), number and direction;
 *    the size encoded in the command is ignored.  A struct grows only at its
 *    end and keeps its number, so the commands of every header ever shipped
 *    (whose encoded sizes differ) keep working;
 *  - every ioctl argument starts with "__u32 size", the size of the struct as
 *    userspace knows it.  A shorter struct (older userspace) is zero-extended;
 *    a longer one is accepted only if the bytes the kernel does not know are
 *    all zero (else -E2BIG); one shorter than the first version of the struct
 *    gets -EINVAL; one above %NHOT_MAX_STRUCT_SIZE gets -E2BIG.  The same
 *    holds for the arrays' element sizes (job_size, result_size);
 *  - results are written back no further than the caller's size;
 *  - every flags, pad and reserved field must be zero (else -EINVAL);
 *  - user pointers are __u64;
 *  - what a module adds is announced by a bit in &nhot_info.caps, never by a
 *    new %NHOT_ABI_VERSION: userspace checks the bits it needs;
 *  - unknown ioctl numbers get -ENOTTY.
 */
#ifndef _UAPI_LINUX_NHOT_H
#define _UAPI_LINUX_NHOT_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * The ABI version: 1 for as long as the module speaks version 1 (it always
 * will: the ABI only grows).  Additions are &nhot_info.caps bits.
 */
#define NHOT_ABI_VERSION	1

/* Largest size, job_size or result_size the kernel reads (else -E2BIG). */
#define NHOT_MAX_STRUCT_SIZE	4096

/*
 * &nhot_info.caps: what this module does beyond ABI version 1 as first
 * shipped (whose modules report caps 0, or do not write it at all).
 *
 * NHOT_CAP_SIZE_FREE_IOCTLS: the dispatch ignores the size encoded in the
 *	command (a grown struct keeps its number), sizes above
 *	%NHOT_MAX_STRUCT_SIZE get -E2BIG, long loops stop for a fatal signal.
 * NHOT_CAP_NO_SIDE_EFFECTS: an ioctl that fails had no effect: a SUBMIT or
 *	BO_CREATE whose results cannot be written back (-EFAULT) queued no job,
 *	used no id and left no buffer.
 * NHOT_CAP_WRITE_ACCESS: BO_CREATE, BO_DESTROY and SUBMIT need a file
 *	opened for writing (else -EBADF).
 */
#define NHOT_CAP_SIZE_FREE_IOCTLS	0x1ULL
#define NHOT_CAP_NO_SIDE_EFFECTS	0x2ULL
#define NHOT_CAP_WRITE_ACCESS		0x4ULL

/* The ioctl type: 0xB9 is unassigned in ioctl-number.rst. */
#define NHOT_IOCTL_TYPE		0xB9

/**
 * enum nhot_engine_kind - what sits behind a /dev/nhotN
 * @NHOT_ENGINE_SIM: the simulated engine inside the module
 * @NHOT_ENGINE_PCI: a PCI n-hot engine (docs/hw.md)
 */
enum nhot_engine_kind {
	NHOT_ENGINE_SIM = 1,
	NHOT_ENGINE_PCI = 2,
};

/**
 * enum nhot_layer_type - the layers of docs/arith.md
 * @NHOT_LAYER_CONV2D: 2-D convolution, NHWC, grouped and depthwise included
 * @NHOT_LAYER_FC: fully connected over the flattened NHWC input
 * @NHOT_LAYER_ADD: elementwise add of two quantized tensors
 * @NHOT_LAYER_AVGPOOL: average pool over valid positions
 * @NHOT_LAYER_GLOBAL_AVGPOOL: average over the whole H x W plane
 * @NHOT_LAYER_MAXPOOL: max pool over valid positions
 */
enum nhot_layer_type {
	NHOT_LAYER_CONV2D = 1,
	NHOT_LAYER_FC = 2,
	NHOT_LAYER_ADD = 3,
	NHOT_LAYER_AVGPOOL = 4,
	NHOT_LAYER_GLOBAL_AVGPOOL = 5,
	NHOT_LAYER_MAXPOOL = 6,
};

#define NHOT_LAYER_TYPE_MAX	NHOT_LAYER_MAXPOOL

/* Limits of docs/arith.md section "Limits"; descriptors beyond get -EOVERFLOW. */
#define NHOT_MAX_BATCH		65535
#define NHOT_MAX_DIM		4096	/* in_h, in_w */
#define NHOT_MAX_CHANNELS	8192	/* in_c, out_c */
#define NHOT_MAX_KERNEL		16	/* kernel_h, kernel_w */
#define NHOT_MAX_STRIDE		8
#define NHOT_MAX_DILATION	8
#define NHOT_MAX_K		32768	/* products summed per output value */
#define NHOT_MAX_ELEMENTS	0x10000000U	/* 2^28: elements of any one tensor */
#define NHOT_MAX_BIAS		0x40000000	/* |bias| <= 2^30 */
#define NHOT_MIN_N		1
#define NHOT_MAX_N		4
#define NHOT_MIN_B		2
#define NHOT_MAX_B		8
#define NHOT_MAX_SHIFT		62	/* requantization shift in [1, 62] */

/**
 * struct nhot_layer - one layer, the job descriptor every engine runs
 * @type: an &enum nhot_layer_type
 * @flags: must be 0
 * @batch: N of the NHWC input (rows, for %NHOT_LAYER_FC)
 * @in_h: H of the input
 * @in_w: W of the input
 * @in_c: C of the input
 * @out_c: output channels (CONV2D, FC); must be 0 for the other types
 * @kernel_h: kernel height (CONV2D, AVGPOOL, MAXPOOL), else 0
 * @kernel_w: kernel width (CONV2D, AVGPOOL, MAXPOOL), else 0
 * @stride_h: vertical stride (CONV2D, AVGPOOL, MAXPOOL), else 0
 * @stride_w: horizontal stride (CONV2D, AVGPOOL, MAXPOOL), else 0
 * @dilation_h: vertical dilation (CONV2D), else 0
 * @dilation_w: horizontal dilation (CONV2D), else 0
 * @pad_top: rows of padding above (CONV2D, AVGPOOL, MAXPOOL), else 0
 * @pad_bottom: rows of padding below
 * @pad_left: columns of padding on the left
 * @pad_right: columns of padding on the right
 * @groups: convolution groups (CONV2D, >= 1), else 0
 * @w_n: n of the weights' n-hot set S(n, b) (CONV2D, FC), else 0
 * @w_b: b of the weights' n-hot set S(n, b) (CONV2D, FC), else 0
 * @in_zero: zero point of the input, 0..255
 * @in2_zero: zero point of the second input (ADD), else 0
 * @out_zero: zero point of the output, 0..255 (CONV2D, FC, ADD), else 0
 * @act_min: lower clamp of the output, 0..255
 * @act_max: upper clamp of the output, act_min..255
 * @add_mult_a: requantization multiplier of input 1 (ADD), 0..2^31-1, else 0
 * @add_mult_b: requantization multiplier of input 2 (ADD), 0..2^31-1, else 0
 * @add_shift: requantization shift (ADD), 1..62, else 0
 * @reserved: must be 0
 *
 * Output shapes are derived, never given: docs/arith.md defines them.
 * CONV2D and FC take per-output-channel parameters (&struct nhot_chan_params)
 * from the params buffer.
 */
struct nhot_layer {
	__u32 type;
	__u32 flags;
	__u32 batch;
	__u32 in_h;
	__u32 in_w;
	__u32 in_c;
	__u32 out_c;
	__u32 kernel_h;
	__u32 kernel_w;
	__u32 stride_h;
	__u32 stride_w;
	__u32 dilation_h;
	__u32 dilation_w;
	__u32 pad_top;
	__u32 pad_bottom;
	__u32 pad_left;
	__u32 pad_right;
	__u32 groups;
	__u32 w_n;
	__u32 w_b;
	__u32 in_zero;
	__u32 in2_zero;
	__u32 out_zero;
	__u32 act_min;
	__u32 act_max;
	__u32 add_mult_a;
	__u32 add_mult_b;
	__u32 add_shift;
	__u32 reserved[4];
};

/**
 * struct nhot_chan_params - per-output-channel parameters, 12 bytes, little endian
 * @bias: added to the accumulator; |bias| <= 2^30
 * @mult: requantization multiplier, 0..2^31-1
 * @shift: requantization shift, 1..62
 *
 * The params buffer of a CONV2D or FC job holds out_c of these, packed.
 */
struct nhot_chan_params {
	__s32 bias;
	__u32 mult;
	__u32 shift;
};

/**
 * struct nhot_info - NHOT_IOCTL_GET_INFO
 * @size: sizeof(struct nhot_info) as userspace knows it
 * @flags: must be 0
 * @abi_version: %NHOT_ABI_VERSION of the module
 * @engine_kind: an &enum nhot_engine_kind
 * @layer_types: bit (1 << type) set for every supported &enum nhot_layer_type
 * @n_mask: bit (1 << n) set for every supported n of S(n, b)
 * @b_mask: bit (1 << b) set for every supported b of S(n, b)
 * @max_jobs_per_submit: most jobs one NHOT_IOCTL_SUBMIT takes
 * @max_buffers: most buffer objects one open file may hold
 * @max_jobs: most jobs one open file may hold, queued or not yet released
 * @max_buffer_bytes: largest buffer object
 * @max_file_bytes: most bytes of buffer objects one open file may hold
 * @pe_count: processing elements of the cycle model (docs/arith.md)
 * @clock_mhz: modelled clock of the cycle model
 * @jobs_submitted: jobs accepted by the engine since it was created
 * @jobs_completed: jobs that finished with %NHOT_JOB_DONE
 * @jobs_failed: jobs that finished with %NHOT_JOB_FAILED
 * @jobs_timed_out: jobs that finished with %NHOT_JOB_TIMEDOUT
 * @macs: multiply-accumulates computed
 * @shift_adds: shift-and-add/subtract operations (nonzero terms) done
 * @cycles: modelled engine cycles
 * @resets: engine resets
 * @caps: the %NHOT_CAP_* bits of this module.  Added after version 1: a
 *	module older than the field answers only %NHOT_IOCTL_GET_INFO_V1, and
 *	leaves @caps as the caller set it (0) when @size covers it
 */
struct nhot_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 engine_kind;
	__u32 layer_types;
	__u32 n_mask;
	__u32 b_mask;
	__u32 max_jobs_per_submit;
	__u32 max_buffers;
	__u32 max_jobs;
	__u64 max_buffer_bytes;
	__u64 max_file_bytes;
	__u32 pe_count;
	__u32 clock_mhz;
	__u64 jobs_submitted;
	__u64 jobs_completed;
	__u64 jobs_failed;
	__u64 jobs_timed_out;
	__u64 macs;
	__u64 shift_adds;
	__u64 cycles;
	__u64 resets;
	__u64 caps;
};

/* sizeof(struct nhot_info) as ABI version 1 shipped it, without @caps. */
#define NHOT_INFO_SIZE_VER1	128

/**
 * struct nhot_bo_create - NHOT_IOCTL_BO_CREATE
 * @size: sizeof(struct nhot_bo_create) as userspace knows it
 * @flags: must be 0
 * @length: bytes, 1..max_buffer_bytes; rounded up to whole pages internally
 * @handle: out: the buffer's handle (never 0), private to this open file
 * @pad: must be 0
 * @mmap_offset: out: pass to mmap() on this file to map the buffer
 */
struct nhot_bo_create {
	__u32 size;
	__u32 flags;
	__u64 length;
	__u32 handle;
	__u32 pad;
	__u64 mmap_offset;
};

/**
 * struct nhot_bo_destroy - NHOT_IOCTL_BO_DESTROY
 * @size: sizeof(struct nhot_bo_destroy) as userspace knows it
 * @flags: must be 0
 * @handle: the buffer to forget; jobs and mappings that use it keep it alive
 * @pad: must be 0
 */
struct nhot_bo_destroy {
	__u32 size;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct nhot_bufref - a place in a buffer object
 * @handle: buffer handle, 0 for "none" (only where the layer uses no such buffer)
 * @pad: must be 0
 * @offset: byte offset into the buffer
 */
struct nhot_bufref {
	__u32 handle;
	__u32 pad;
	__u64 offset;
};

/**
 * struct nhot_job - one layer job in an NHOT_IOCTL_SUBMIT batch
 * @flags: must be 0
 * @pad: must be 0
 * @layer: what to compute
 * @input: the input tensor (uint8, NHWC)
 * @input2: the second input (ADD), else handle 0
 * @weights: packed n-hot codes (CONV2D, FC), else handle 0
 * @params: out_c &struct nhot_chan_params (CONV2D, FC), else handle 0
 * @output: the output tensor (uint8, NHWC)
 */
struct nhot_job {
	__u32 flags;
	__u32 pad;
	struct nhot_layer layer;
	struct nhot_bufref input;
	struct nhot_bufref input2;
	struct nhot_bufref weights;
	struct nhot_bufref params;
	struct nhot_bufref output;
};

/**
 * struct nhot_submit - NHOT_IOCTL_SUBMIT
 * @size: sizeof(struct nhot_submit) as userspace knows it
 * @flags: must be 0
 * @jobs_ptr: user pointer to @job_count jobs, @job_size bytes apart
 * @job_count: 1..max_jobs_per_submit
 * @job_size: sizeof(struct nhot_job) as userspace knows it (same rules as @size)
 * @first_id: out: the jobs got the ids first_id .. first_id + job_count - 1
 *
 * All jobs are validated before any is queued: on error none is queued.
 * Jobs of one file run in submission order.
 */
struct nhot_submit {
	__u32 size;
	__u32 flags;
	__u64 jobs_ptr;
	__u32 job_count;
	__u32 job_size;
	__u64 first_id;
};

/* NHOT_IOCTL_WAIT flags */
#define NHOT_WAIT_ANY		0x1U		/* return when any one job finished */
#define NHOT_WAIT_FLAGS		NHOT_WAIT_ANY

/**
 * struct nhot_wait - NHOT_IOCTL_WAIT
 * @size: sizeof(struct nhot_wait) as userspace knows it
 * @flags: 0 (wait for all) or %NHOT_WAIT_ANY
 * @ids_ptr: user pointer to @id_count __u64 job ids
 * @id_count: 1..max_jobs
 * @pad: must be 0
 * @timeout_ns: absolute CLOCK_MONOTONIC deadline in ns; 0 polls once
 *
 * Returns 0 when the jobs finished (in any final status), -ETIMEDOUT at the
 * deadline, -EINTR on a signal, -ENOENT for an id this file does not hold.
 */
struct nhot_wait {
	__u32 size;
	__u32 flags;
	__u64 ids_ptr;
	__u32 id_count;
	__u32 pad;
	__s64 timeout_ns;
};

/**
 * enum nhot_job_status - where a job is
 * @NHOT_JOB_QUEUED: accepted, not started
 * @NHOT_JOB_RUNNING: on the engine
 * @NHOT_JOB_DONE: finished, the output is valid
 * @NHOT_JOB_FAILED: the engine reported an error (see &nhot_job_result.error)
 * @NHOT_JOB_TIMEDOUT: ran past the timeout; the engine was reset
 * @NHOT_JOB_CANCELLED: never ran to the end (file closed, device removed)
 */
enum nhot_job_status {
	NHOT_JOB_QUEUED = 1,
	NHOT_JOB_RUNNING = 2,
	NHOT_JOB_DONE = 3,
	NHOT_JOB_FAILED = 4,
	NHOT_JOB_TIMEDOUT = 5,
	NHOT_JOB_CANCELLED = 6,
};

/**
 * struct nhot_job_result - one job's status and counters
 * @id: in: the job id
 * @status: out: an &enum nhot_job_status
 * @error: out: 0, or a negative errno when the job did not end DONE
 * @macs: out: multiply-accumulates of the job
 * @shift_adds: out: shift-and-add/subtract operations of the job
 * @cycles: out: modelled cycles of the job
 * @queued_ns: out: CLOCK_MONOTONIC time of submission
 * @start_ns: out: time the engine started it (0 if it never started)
 * @end_ns: out: time it finished (0 if it has not)
 */
struct nhot_job_result {
	__u64 id;
	__u32 status;
	__s32 error;
	__u64 macs;
	__u64 shift_adds;
	__u64 cycles;
	__u64 queued_ns;
	__u64 start_ns;
	__u64 end_ns;
};

/* NHOT_IOCTL_JOB_STATUS flags */
#define NHOT_STATUS_RELEASE	0x1U		/* forget the jobs that finished */
#define NHOT_STATUS_FLAGS	NHOT_STATUS_RELEASE

/**
 * struct nhot_job_status_args - NHOT_IOCTL_JOB_STATUS
 * @size: sizeof(struct nhot_job_status_args) as userspace knows it
 * @flags: 0 or %NHOT_STATUS_RELEASE
 * @results_ptr: user pointer to @count &struct nhot_job_result, ids filled in
 * @count: 1..max_jobs
 * @result_size: sizeof(struct nhot_job_result) as userspace knows it
 *
 * A finished job is held, and counts against max_jobs, until it is released.
 * With %NHOT_STATUS_RELEASE the finished jobs among @results are released
 * after their results are copied out; queued and running ones are not.
 */
struct nhot_job_status_args {
	__u32 size;
	__u32 flags;
	__u64 results_ptr;
	__u32 count;
	__u32 result_size;
};

/*
 * The size each command encodes is that of the header it was built with:
 * the module ignores it (see the rules at the top).
 */
#define NHOT_IOCTL_GET_INFO	_IOWR(NHOT_IOCTL_TYPE, 0x00, struct nhot_info)
/*
 * GET_INFO under the number ABI version 1 shipped, which every module
 * answers: with size = sizeof(struct nhot_info) and caps = 0 it works
 * against old modules (caps stays 0) and new ones alike.
 */
#define NHOT_IOCTL_GET_INFO_V1	_IOC(_IOC_READ | _IOC_WRITE, NHOT_IOCTL_TYPE, 0x00, \
				     NHOT_INFO_SIZE_VER1)
#define NHOT_IOCTL_BO_CREATE	_IOWR(NHOT_IOCTL_TYPE, 0x01, struct nhot_bo_create)
#define NHOT_IOCTL_BO_DESTROY	_IOW(NHOT_IOCTL_TYPE, 0x02, struct nhot_bo_destroy)
#define NHOT_IOCTL_SUBMIT	_IOWR(NHOT_IOCTL_TYPE, 0x03, struct nhot_submit)
#define NHOT_IOCTL_WAIT		_IOW(NHOT_IOCTL_TYPE, 0x04, struct nhot_wait)
#define NHOT_IOCTL_JOB_STATUS	_IOWR(NHOT_IOCTL_TYPE, 0x05, struct nhot_job_status_args)

#endif /* _UAPI_LINUX_NHOT_H */
