/*
 * How far away memory is right now, by working-set size: a chain of dependent loads through a random cycle of
 * SIZE KiB (each load's address is the value the last one read, so no two overlap), on the CPU it is pinned to.
 * Prints nanoseconds per load for each size. On a virtual machine whose last-level cache is shared with other
 * tenants, the sizes that fit a core's private cache stay put while the larger ones swing from one second to the
 * next: that is how PERFORMANCE-LOG.md's session 22 tells the host's slow spells apart from the replay's own cost.
 *
 *   gcc -O2 -o /tmp/cacheprobe Benchmarks/baseline/cacheprobe.c
 *   taskset -c 0 /tmp/cacheprobe 256 512 1024 4096
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { LoadsPerSize = 3000000 };

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* xorshift64: a fixed seed, so every run walks the same cycle. */
static uint64_t next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static double probe(size_t kib)
{
    /* One slot per 64-byte line: every load is a different line. */
    size_t slots = kib * 1024 / 64;
    uint32_t *cycle = malloc(slots * 64);
    if (!cycle || slots < 2) {
        fprintf(stderr, "cannot probe %zu KiB\n", kib);
        exit(2);
    }

    /* Sattolo's shuffle: one cycle through all slots. */
    uint32_t *order = malloc(slots * sizeof *order);
    for (size_t i = 0; i < slots; i++) order[i] = (uint32_t)i;
    uint64_t state = 0x9E3779B97F4A7C15u;
    for (size_t i = slots - 1; i > 0; i--) {
        size_t j = next(&state) % i;
        uint32_t t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (size_t i = 0; i < slots; i++) cycle[order[i] * 16] = order[(i + 1) % slots] * 16;
    free(order);

    uint32_t at = 0;
    for (size_t i = 0; i < slots; i++) at = cycle[at]; /* warm: the whole set once */
    double start = seconds();
    for (long i = 0; i < LoadsPerSize; i++) at = cycle[at];
    double elapsed = seconds() - start;
    free(cycle);
    if (at == UINT32_MAX) puts(""); /* keeps the chain live */
    return elapsed * 1e9 / LoadsPerSize;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cacheprobe SIZE_KIB...\n");
        return 2;
    }

    for (int i = 1; i < argc; i++) {
        size_t kib = strtoul(argv[i], NULL, 10);
        printf("%s%zu KiB %.1f ns", i > 1 ? ", " : "", kib, probe(kib));
    }

    putchar('\n');
    return 0;
}
