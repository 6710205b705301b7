/* The end of a per-ISA translation unit opened by target_begin.h. */
#if defined(__clang__)
#pragma clang attribute pop
#endif
