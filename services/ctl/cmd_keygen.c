/* leadopsctl keygen: a new CurveZMQ key pair as YAML lines to paste. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "ctl.h"
#include "zutil.h"

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl keygen\n"
                 "Prints a new CurveZMQ key pair (Z85) as YAML lines:\n"
                 "  - the deployment pair: paste both lines under `security:` of the config every\n"
                 "    service and leadopsctl use (they serve and connect with it);\n"
                 "  - a producer's own pair: give both keys to that producer only, and add its\n"
                 "    public key to security.curve_client_keys (then SIGHUP the services).\n"
                 "The secret key is a secret: keep it out of logs, tickets and version control,\n"
                 "and the file that holds it readable by the service user only.\n");
    return out == stdout ? 0 : 2;
}

int ctl_keygen(int argc, char **argv, const config_t *cfg)
{
    (void)cfg;
    if (argc > 1)
        return s_usage(strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? stdout
                                                                                    : stderr);
    char public_key[ZUTIL_Z85_KEY_LEN + 1], secret_key[ZUTIL_Z85_KEY_LEN + 1];
    if (!zmq_has("curve") || zmq_curve_keypair(public_key, secret_key) != 0) {
        fprintf(stderr, "leadopsctl keygen: this libzmq has no CURVE support: %s\n",
                zmq_strerror(zmq_errno()));
        return 1;
    }
    /* Z85 uses YAML indicators (# : [ { & * ! ...): always double-quote. */
    printf("# CurveZMQ key pair from leadopsctl keygen; the secret key is a secret.\n"
           "curve_public_key: \"%s\"\n"
           "curve_secret_key: \"%s\"\n",
           public_key, secret_key);
    memset(secret_key, 0, sizeof secret_key);
    return 0;
}
