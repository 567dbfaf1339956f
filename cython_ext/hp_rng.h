/* Counter-based random streams for hpcabm.
 *
 * Every random number in the models is a pure function of (seed, purpose, entity id, step, draw),
 * so an agent or a firm draws the same numbers on whatever rank it lives and after any restart:
 * there is no generator state to save. The mixer is the SplitMix64 finaliser (Steele, Lea & Flood,
 * OOPSLA 2014), applied in a chain over the key words; it is a bijection on 64 bits with full
 * avalanche, and SplitMix64 with a counter passes BigCrush.
 * hpcabm/core/rng.py is the NumPy twin of this file (tested equal).
 */
#ifndef HP_RNG_H
#define HP_RNG_H
#include <stdint.h>

#define HP_GOLDEN 0x9E3779B97F4A7C15ULL
#define HP_K1 0x632BE59BD9B4E019ULL
#define HP_K2 0xD1B54A32D192ED03ULL

static inline uint64_t hp_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Key of the stream (seed, purpose, entity, step). */
static inline uint64_t hp_key(uint64_t seed, uint64_t purpose, uint64_t entity, uint64_t step) {
    uint64_t h = hp_mix64(seed ^ (purpose * HP_GOLDEN + HP_K1));
    h = hp_mix64(h ^ (entity + HP_GOLDEN));
    return hp_mix64(h ^ (step * HP_K2 + HP_K1));
}

/* Draw j of a stream. */
static inline uint64_t hp_draw(uint64_t key, uint64_t j) {
    return hp_mix64(key ^ hp_mix64((j + 1) * HP_GOLDEN));
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double hp_u01(uint64_t x) {
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

/* Purposes (stream names). Keep in sync with hpcabm/core/rng.py. */
enum {
    HP_P_THETA = 1,       /* agent preference theta_i */
    HP_P_FRIENDS = 2,     /* agent friend count and friend ids */
    HP_P_ACTIVATE = 3,    /* monthly activation time */
    HP_P_TECH = 4,        /* firm technology (a, b, beta) */
    /* 10..29: MASs Macro goods markets, drawn from Python (hpcabm/core/rng.py MM_*) */
    /* exchange economies (seed 003): 100.. */
    HP_P_EX_PERM = 100,       /* pairing permutation of a sub-step (entity = colour class) */
    HP_P_EX_PAIR = 101,       /* one encounter (entity = lower agent id, step = 4 sweep + class) */
    HP_P_EX_METER_PERM = 102, /* matching inside the meter */
    HP_P_EX_METER_PAIR = 103, /* encounter of two meter agents (entity = lower meter index) */
    HP_P_EX_METER_PICK = 104, /* EE agent met by a meter agent */
    HP_P_EX_METER_EX = 105,   /* meter-EE encounter (entity = meter index) */
    HP_P_EX_GRID = 106,       /* seed of an entropy grid point / contact experiment */
    HP_P_EX_INIT = 107,       /* initial holdings (entity = agent id or meter index) */
    HP_P_KS_INNOV = 200,  /* K+S: innovation success and Beta(3,3) draws */
    HP_P_KS_IMIT = 201,   /* K+S: imitation success and target */
    HP_P_KS_BROCH = 202,  /* K+S: new-client brochures */
    HP_P_KS_SUPPLIER = 203, /* K+S: supplier drawn without brochure */
    HP_P_KS_ENTRY = 204,  /* K+S: entrants */
    HP_P_KS_BANK = 205,   /* K+S Mark III: bank of each firm */
    HP_P_KD_GOODS = 300,  /* daily Keynesian economy: goods-market order and firm samples */
    HP_P_KD_LABOUR = 301, /* daily Keynesian economy: labour-market order, vacancy samples */
    /* 302..306: keynes_daily draws made from Python (hpcabm/core/rng.py KD_*) */
};
#endif
