/* Capability table and unified validation (the seed's cap_validate_unified). */
#ifndef EXOV6_CAP_H
#define EXOV6_CAP_H
#include "exokernel.h"

#define NCAP 64

typedef enum {
  VALIDATION_SUCCESS = 0,
  VALIDATION_INVALID_ID = 1,
  VALIDATION_REVOKED = 2,
  VALIDATION_INSUFFICIENT_RIGHTS = 3,
  VALIDATION_WRONG_TYPE = 4,
} cap_validation_result_t;

struct cap_entry {
  struct exo_cap cap;
  bool in_use;
  int owner;  /* pid */
};

EXO_NODISCARD cap_id_t cap_alloc(enum exo_resource type, uint64_t resource, uint32_t rights, int owner);
void cap_revoke(cap_id_t id);
cap_validation_result_t cap_validate_unified(cap_id_t id, struct cap_entry *out);
cap_validation_result_t cap_check(cap_id_t id, enum exo_resource type, uint32_t rights);
const char *cap_validation_name(cap_validation_result_t r);
#endif
