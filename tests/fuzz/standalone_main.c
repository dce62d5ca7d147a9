/* standalone_main.c — runs a libFuzzer target without libFuzzer, as a
 * regression test any compiler can build.
 *
 *   <target>_regress CORPUS [MUTATIONS]
 *
 * CORPUS is a directory (every regular file in it, in name order) or a single
 * file (to replay a crash). Each input is run as is, then MUTATIONS
 * (default 20000) inputs are derived from them with bit flips, byte changes,
 * truncations, insertions, deletions, copies and splices. The generator has a
 * fixed seed and its own state, so a run is the same on every machine and a
 * failure reproduces by running the test again. Under the ASan+UBSan build
 * this finds memory errors and undefined behaviour; it does not replace
 * coverage-guided fuzzing with the real `<target>_fuzzer` binaries.
 *
 * Every input goes to the target in a buffer of exactly its size, so reading
 * one byte past the end is an ASan report. When the process dies on an input,
 * that input is written to "crash-<target>-<n>" in the working directory and,
 * base64-encoded, to stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_TARGET_NAME
#define FUZZ_TARGET_NAME "fuzz"
#endif

#define INPUT_SIZE_MAX  (256 * 1024) /* a mutation never grows an input past this */
#define CORPUS_FILE_MAX (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present when built with a sanitizer (weak: NULL otherwise). */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

typedef struct {
    uint8_t *bytes; /* owned */
    size_t size;
} input_t;

typedef struct {
    input_t *items; /* owned */
    size_t count;
} corpus_t;

/* The input in flight, for the crash dump. Set only around the target call. */
static const uint8_t *s_current;
static size_t s_current_size;
static long s_current_index = -1; /* -1: a corpus file; else the mutation number */
static const char *s_current_name = "";

/* splitmix64: small, good enough, and all its state is in *STATE. */
static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A uniform-enough number in 0..BOUND-1; BOUND must not be 0. */
static size_t s_below(uint64_t *state, size_t bound)
{
    return (size_t)(s_next(state) % bound);
}

static void s_write_all(int fd, const void *bytes, size_t size)
{
    const char *p = bytes;
    while (size > 0) {
        ssize_t wrote = write(fd, p, size);
        if (wrote <= 0 && errno != EINTR)
            return;
        if (wrote > 0) {
            p += wrote;
            size -= (size_t)wrote;
        }
    }
}

/* Writes the input in flight to a file and, base64-encoded, to stderr. Only
 * async-signal-safe calls: this runs from a signal handler or the sanitizer's
 * death callback. */
static void s_dump_current(void)
{
    if (!s_current)
        return;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char path[128] = "crash-" FUZZ_TARGET_NAME "-";
    size_t at = strlen(path);
    char digits[24];
    size_t n = 0;
    unsigned long index = s_current_index < 0 ? 0 : (unsigned long)s_current_index;
    do {
        digits[n++] = (char)('0' + index % 10);
        index /= 10;
    } while (index);
    if (s_current_index < 0)
        path[at++] = 'c'; /* crash-<target>-c0: a corpus file, named on stderr */
    while (n)
        path[at++] = digits[--n];
    path[at] = '\0';

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        s_write_all(fd, s_current, s_current_size);
        close(fd);
    }
    static const char head[] = "\n" FUZZ_TARGET_NAME ": died on input ";
    s_write_all(2, head, sizeof head - 1);
    s_write_all(2, path, strlen(path));
    s_write_all(2, " (", 2);
    s_write_all(2, s_current_name, strlen(s_current_name));
    s_write_all(2, "), base64:\n", 11);
    char quad[4];
    for (size_t i = 0; i < s_current_size; i += 3) {
        uint32_t triple = (uint32_t)s_current[i] << 16;
        if (i + 1 < s_current_size)
            triple |= (uint32_t)s_current[i + 1] << 8;
        if (i + 2 < s_current_size)
            triple |= s_current[i + 2];
        quad[0] = alphabet[(triple >> 18) & 63];
        quad[1] = alphabet[(triple >> 12) & 63];
        quad[2] = i + 1 < s_current_size ? alphabet[(triple >> 6) & 63] : '=';
        quad[3] = i + 2 < s_current_size ? alphabet[triple & 63] : '=';
        s_write_all(2, quad, 4);
    }
    s_write_all(2, "\n", 1);
}

static void s_on_signal(int sig)
{
    s_dump_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void s_install_crash_dump(void)
{
    if (__sanitizer_set_death_callback) {
        /* The sanitizers own SIGSEGV and friends; they call us before dying. */
        __sanitizer_set_death_callback(s_dump_current);
        return;
    }
    int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        signal(signals[i], s_on_signal);
}

/* Runs the target on a copy of exactly SIZE bytes. */
static void s_run(const uint8_t *bytes, size_t size, long index, const char *name)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        fprintf(stderr, FUZZ_TARGET_NAME ": out of memory\n");
        exit(2);
    }
    if (size)
        memcpy(copy, bytes, size);
    s_current = copy;
    s_current_size = size;
    s_current_index = index;
    s_current_name = name;
    LLVMFuzzerTestOneInput(copy, size);
    s_current = NULL;
    free(copy);
}

static int s_read_file(const char *path, input_t *out)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    out->bytes = NULL;
    out->size = 0;
    size_t capacity = 0;
    for (;;) {
        if (out->size == capacity) {
            capacity = capacity ? 2 * capacity : 4096;
            uint8_t *bigger = capacity <= CORPUS_FILE_MAX ? realloc(out->bytes, capacity) : NULL;
            if (!bigger) {
                fprintf(stderr, FUZZ_TARGET_NAME ": %s: too big or out of memory\n", path);
                free(out->bytes);
                fclose(file);
                return -1;
            }
            out->bytes = bigger;
        }
        size_t got = fread(out->bytes + out->size, 1, capacity - out->size, file);
        if (got == 0)
            break;
        out->size += got;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        fprintf(stderr, FUZZ_TARGET_NAME ": %s: read error\n", path);
        free(out->bytes);
        return -1;
    }
    return 0;
}

static int s_add(corpus_t *corpus, const char *path)
{
    input_t input;
    if (s_read_file(path, &input) != 0)
        return -1;
    input_t *bigger = realloc(corpus->items, (corpus->count + 1) * sizeof *bigger);
    if (!bigger) {
        free(input.bytes);
        return -1;
    }
    corpus->items = bigger;
    corpus->items[corpus->count++] = input;
    return 0;
}

static int s_only_files(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

/* Loads PATH (a file, or the regular files of a directory in name order),
 * running each input through the target as it goes. */
static int s_load(corpus_t *corpus, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (s_add(corpus, path) != 0)
            return -1;
        s_run(corpus->items[0].bytes, corpus->items[0].size, -1, path);
        return 0;
    }
    struct dirent **entries;
    int count = scandir(path, &entries, s_only_files, alphasort);
    if (count < 0) {
        fprintf(stderr, FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < count; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, entries[i]->d_name);
        if (rc == 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = s_add(corpus, file);
            if (rc == 0)
                s_run(corpus->items[corpus->count - 1].bytes, corpus->items[corpus->count - 1].size,
                      -1, file);
        }
        free(entries[i]);
    }
    free(entries);
    return rc;
}

/* Bytes that matter to the parsers behind the targets: delimiters, quotes,
 * protobuf tags and varint edges, YAML indicators. */
static const uint8_t s_interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"',  '\\', '{',  '}',
                                        '[',  ']',  ':',  ',',  '-',  '\n', ' ',  '\t', '&',
                                        '*',  '!',  '|',  '>',  '#',  '@',  '.',  'e',  '0',
                                        '9',  0x08, 0x0a, 0x12, 0x1a, 0x42, 0xc3, 0xe2};

/* Applies one random edit to BUF (SIZE bytes used, INPUT_SIZE_MAX room). */
static size_t s_mutate_once(uint64_t *rng, uint8_t *buf, size_t size, const corpus_t *corpus)
{
    const input_t *other = &corpus->items[s_below(rng, corpus->count)];
    switch (s_below(rng, 9)) {
    case 0: /* flip one bit */
        if (size)
            buf[s_below(rng, size)] ^= (uint8_t)(1u << s_below(rng, 8));
        return size;
    case 1: /* set a byte to an interesting value */
        if (size)
            buf[s_below(rng, size)] = s_interesting[s_below(rng, sizeof s_interesting)];
        return size;
    case 2: /* set a byte to anything */
        if (size)
            buf[s_below(rng, size)] = (uint8_t)s_next(rng);
        return size;
    case 3: /* truncate */
        return size ? s_below(rng, size) : 0;
    case 4: { /* insert 1..8 bytes, random or interesting */
        size_t n = 1 + s_below(rng, 8);
        if (size + n > INPUT_SIZE_MAX)
            return size;
        size_t at = s_below(rng, size + 1);
        memmove(buf + at + n, buf + at, size - at);
        for (size_t i = 0; i < n; i++)
            buf[at + i] = s_below(rng, 2) ? (uint8_t)s_next(rng)
                                          : s_interesting[s_below(rng, sizeof s_interesting)];
        return size + n;
    }
    case 5: { /* delete a chunk */
        if (!size)
            return 0;
        size_t at = s_below(rng, size);
        size_t n = 1 + s_below(rng, size - at < 16 ? size - at : 16);
        memmove(buf + at, buf + at + n, size - at - n);
        return size - n;
    }
    case 6: { /* copy a chunk of this input over another place in it */
        if (size < 2)
            return size;
        size_t from = s_below(rng, size), to = s_below(rng, size);
        size_t n = 1 + s_below(rng, size - (from > to ? from : to));
        memmove(buf + to, buf + from, n);
        return size;
    }
    case 7: { /* insert a chunk of another corpus input */
        if (!other->size)
            return size;
        size_t from = s_below(rng, other->size);
        size_t n = 1 + s_below(rng, other->size - from < 64 ? other->size - from : 64);
        if (size + n > INPUT_SIZE_MAX)
            return size;
        size_t at = s_below(rng, size + 1);
        memmove(buf + at + n, buf + at, size - at);
        memcpy(buf + at, other->bytes + from, n);
        return size + n;
    }
    default: { /* splice: a prefix of this input, a suffix of another */
        size_t keep = s_below(rng, size + 1);
        size_t from = s_below(rng, other->size + 1);
        size_t n = other->size - from;
        if (keep + n > INPUT_SIZE_MAX)
            n = INPUT_SIZE_MAX - keep;
        memcpy(buf + keep, other->bytes + from, n);
        return keep + n;
    }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE [MUTATIONS]\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long mutations = argc == 3 ? strtol(argv[2], &end, 10) : 20000;
    if ((end && *end) || mutations < 0) {
        fprintf(stderr, "%s: MUTATIONS must be a number >= 0\n", argv[0]);
        return 2;
    }
    s_install_crash_dump();

    corpus_t corpus = {0};
    if (s_load(&corpus, argv[1]) != 0)
        return 1;
    if (corpus.count == 0) {
        fprintf(stderr, FUZZ_TARGET_NAME ": %s: no inputs\n", argv[1]);
        return 1;
    }

    uint8_t *buf = malloc(INPUT_SIZE_MAX);
    if (!buf)
        return 1;
    uint64_t rng = 0x1EAD0B5ULL; /* fixed: every run makes the same inputs */
    for (long m = 0; m < mutations; m++) {
        const input_t *base = &corpus.items[s_below(&rng, corpus.count)];
        size_t size = base->size < INPUT_SIZE_MAX ? base->size : INPUT_SIZE_MAX;
        memcpy(buf, base->bytes, size);
        /* Mostly small edits, which keep an input near valid and so reach deep. */
        size_t edits = 1 + (s_below(&rng, 4) ? s_below(&rng, 2) : s_below(&rng, 8));
        for (size_t e = 0; e < edits; e++)
            size = s_mutate_once(&rng, buf, size, &corpus);
        s_run(buf, size, m, "mutation");
    }
    free(buf);

    printf(FUZZ_TARGET_NAME ": %zu inputs, %ld mutations, ok\n", corpus.count, mutations);
    for (size_t i = 0; i < corpus.count; i++)
        free(corpus.items[i].bytes);
    free(corpus.items);
    return 0;
}
