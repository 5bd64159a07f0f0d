/* ExoV6 exokernel interface: secure bindings are capabilities on hardware resources. */
#ifndef EXOV6_EXOKERNEL_H
#define EXOV6_EXOKERNEL_H
#include "types.h"

enum exo_resource { EXO_RES_PAGE = 1, EXO_RES_BLOCK = 2, EXO_RES_IRQ = 3, EXO_RES_ENDPOINT = 4 };

/* A capability: what it names, the rights it grants, and its generation (revocation). */
struct exo_cap {
  cap_id_t id;
  enum exo_resource type;
  uint64_t resource;
  uint32_t rights;
  uint32_t generation;
};

typedef struct exo_cap exo_cap_t;

#define EXO_RIGHT_READ  (1u << 0)
#define EXO_RIGHT_WRITE (1u << 1)
#define EXO_RIGHT_GRANT (1u << 2)
#define EXO_NODISCARD __attribute__((warn_unused_result))
#endif
