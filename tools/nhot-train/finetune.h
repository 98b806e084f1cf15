/* SPDX-License-Identifier: MIT */
/* nhot-train finetune: quantization-aware fine-tuning of a float model. */
#ifndef NHOT_TRAIN_FINETUNE_H
#define NHOT_TRAIN_FINETUNE_H

/*
 * The finetune command: argv[0] is "finetune". Parses its options (a usage
 * error prints one line on stderr and exits 2), runs the stages, prints
 * progress on stderr and the final fake-quantized accuracy on stdout.
 * Returns the exit status: 0 done, 1 failed.
 */
int finetune_main(int argc, char **argv);

#endif
