/* decay.c — engagement's half-life decay; see decay.h. */
#include "decay.h"

#include <math.h>

double decay_factor(int64_t from_ms, int64_t to_ms, int half_life_s)
{
    if (half_life_s <= 0 || to_ms <= from_ms)
        return 1;
    /* pow(2, x), as Lua's 2 ^ x computes it, so C and the scripts agree to the bit. */
    return pow(2.0, -(double)(to_ms - from_ms) / (1000.0 * (double)half_life_s));
}
