/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nhot tracepoints: a job's way through the engine.
 *
 *   echo 1 > /sys/kernel/tracing/events/nhot/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM nhot

#if !defined(_NHOT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NHOT_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(nhot_job_submit,
	    TP_PROTO(int dev, u64 id, u32 type),
	    TP_ARGS(dev, id, type),
	    TP_STRUCT__entry(__field(int, dev)
			     __field(u64, id)
			     __field(u32, type)
	    ),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->id = id;
			   __entry->type = type;
	    ),
	    TP_printk("nhot%d job=%llu type=%u", __entry->dev, __entry->id, __entry->type)
);

TRACE_EVENT(nhot_job_start,
	    TP_PROTO(int dev, u64 id, bool hang),
	    TP_ARGS(dev, id, hang),
	    TP_STRUCT__entry(__field(int, dev)
			     __field(u64, id)
			     __field(bool, hang)
	    ),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->id = id;
			   __entry->hang = hang;
	    ),
	    TP_printk("nhot%d job=%llu hang=%d", __entry->dev, __entry->id, __entry->hang)
);

TRACE_EVENT(nhot_job_complete,
	    TP_PROTO(int dev, u64 id, u64 cycles),
	    TP_ARGS(dev, id, cycles),
	    TP_STRUCT__entry(__field(int, dev)
			     __field(u64, id)
			     __field(u64, cycles)
	    ),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->id = id;
			   __entry->cycles = cycles;
	    ),
	    TP_printk("nhot%d job=%llu cycles=%llu", __entry->dev, __entry->id,
		      __entry->cycles)
);

TRACE_EVENT(nhot_job_error,
	    TP_PROTO(int dev, u64 id, u32 status, int error),
	    TP_ARGS(dev, id, status, error),
	    TP_STRUCT__entry(__field(int, dev)
			     __field(u64, id)
			     __field(u32, status)
			     __field(int, error)
	    ),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->id = id;
			   __entry->status = status;
			   __entry->error = error;
	    ),
	    TP_printk("nhot%d job=%llu status=%u error=%d", __entry->dev,
		      __entry->id, __entry->status, __entry->error)
);

#endif /* _NHOT_TRACE_H */

/* An out-of-tree module: the header is found beside the sources. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
