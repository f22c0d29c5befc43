/*
 * The limit issue 5 measures the replay against: a plain C loop that parses the same CSV rows, decodes each ECAM
 * address and reads (or writes) a flat configuration table. No model, no routing, no snapshot. Prints rows per
 * second for the data rows of TRACE (read whole into memory first, so the disk is not timed).
 *
 *   gcc -O2 -o /tmp/cloop Benchmarks/baseline/cloop.c && /tmp/cloop TRACE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t table[256 * 256 * 1024]; /* bus x devfn x DWORD: 256 MiB of configuration space */

static uint64_t hex(const char *p, const char *end)
{
    uint64_t v = 0;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    for (; p < end; p++)
        v = (v << 4) | (uint64_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: cloop TRACE\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (fread(text, 1, (size_t)size, f) != (size_t)size) { perror("read"); return 2; }
    fclose(f);
    text[size] = '\n';

    const uint64_t ecam = 0x1000000000ULL; /* segment 0's ECAM block, as the benchmark topologies place it */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rows = 0;
    uint64_t checksum = 0;
    int header = 1;
    for (char *line = text, *stop; line < text + size; line = stop + 1)
    {
        stop = memchr(line, '\n', (size_t)(text + size + 1 - line));
        if (line == stop || line[0] == '#') continue;
        if (header) { header = 0; continue; }
        const char *field[8] = {0}, *fend[8] = {0};
        int n = 0;
        for (const char *p = line; n < 8; n++)
        {
            field[n] = p;
            const char *c = memchr(p, ',', (size_t)(stop - p));
            fend[n] = c ? c : stop;
            if (!c) { n++; break; }
            p = c + 1;
        }
        rows++;
        /* seq,op,address,width,value,... */
        if (n < 5 || fend[1] - field[1] < 4) continue;
        int write = field[1][0] == 'w';
        if (!write && field[1][0] != 'r') continue;
        uint64_t offset = hex(field[2], fend[2]) - ecam;
        if (offset >= (256ULL << 20)) continue;
        uint32_t index = (uint32_t)(offset >> 2);
        uint64_t value = hex(field[4], fend[4]);
        if (write) table[index] = (uint32_t)value;
        else checksum += table[index] ^ value;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld rows in %.3f s: %.1f million rows/s (checksum %llu)\n", rows, seconds, rows / seconds / 1e6, (unsigned long long)checksum);
    return 0;
}
