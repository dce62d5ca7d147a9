/* fuzz_config.c — libFuzzer target for the YAML configuration file.
 *
 * The bytes go first to yaml_tree_parse (the buffer entry point of the
 * parser), then to config_load as a file, which is the only way in: the
 * loader takes a path. The file is an in-memory memfd opened through
 * /proc/self/fd, so a fuzzing run writes nothing to disk and leaves nothing
 * behind. Set LEADOPS_* variables change what config_load does; run with a
 * clean environment to reproduce a finding. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "yaml_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_fd = -1;
static char s_path[64];

/* The path of a file holding exactly SIZE bytes of DATA. */
static const char *s_file_with(const uint8_t *data, size_t size)
{
    if (s_fd < 0) {
        s_fd = memfd_create("leadops-fuzz-config", MFD_CLOEXEC);
        if (s_fd < 0) {
            perror("fuzz_config: memfd_create");
            abort();
        }
        snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    }
    if (ftruncate(s_fd, 0) != 0) {
        perror("fuzz_config: ftruncate");
        abort();
    }
    for (size_t done = 0; done < size;) {
        ssize_t wrote = pwrite(s_fd, data + done, size - done, (off_t)done);
        if (wrote <= 0) {
            perror("fuzz_config: pwrite");
            abort();
        }
        done += (size_t)wrote;
    }
    return s_path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    err_t err = {0};
    yaml_tree_node_t *root = yaml_tree_parse((const char *)data, size, "fuzz.yaml", &err);
    if (root)
        (void)yaml_tree_is_null(root);
    yaml_tree_destroy(&root);

    err_clear(&err);
    config_t *config = config_load(s_file_with(data, size), &err);
    if (config) {
        /* The lookups the services make straight after loading. */
        for (size_t i = 0; i < config->activity_type_count; i++) {
            if (!config_is_activity_type(config, config->activity_types[i]))
                abort();
        }
        if (!config_queue(config, config->fallback_queue))
            abort(); /* the loader promises the fallback queue exists */
        char host[256];
        int port;
        (void)config_split_listen(config->http_ingest_listen, host, sizeof host, &port, NULL);
        config_destroy(&config);
    } else if (err.code == ERR_NONE || !err.msg[0]) {
        abort(); /* a refusal must say why */
    }
    return 0;
}
