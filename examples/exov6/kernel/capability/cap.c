// Capability table: allocation, revocation by generation, and the unified validation of the
// ExoV6 report (cap_validate_unified → VALIDATION_* codes).
#include "cap.h"
#include "defs.h"
#include "spinlock.h"

static struct {
  struct spinlock lock;
  struct cap_entry entries[NCAP];
} caps;

/* A capability id: table index in the low 16 bits, generation above. */
static inline uint32_t cap_index(cap_id_t id) { return id & 0xFFFF; }
static inline uint32_t cap_gen(cap_id_t id) { return id >> 16; }

void capinit(void) { initlock(&caps.lock, "caps"); }

cap_id_t cap_alloc(enum exo_resource type, uint64_t resource, uint32_t rights, int owner) {
  acquire(&caps.lock);
  for (uint32_t i = 1; i < NCAP; i++) {
    struct cap_entry *e = &caps.entries[i];
    if (e->in_use) continue;
    e->in_use = true;
    e->owner = owner;
    e->cap.generation++;
    e->cap.id = (e->cap.generation << 16) | i;
    e->cap.type = type;
    e->cap.resource = resource;
    e->cap.rights = rights;
    release(&caps.lock);
    return e->cap.id;
  }
  release(&caps.lock);
  return 0;
}

void cap_revoke(cap_id_t id) {
  acquire(&caps.lock);
  struct cap_entry *e = &caps.entries[cap_index(id) % NCAP];
  if (e->in_use && e->cap.id == id) e->in_use = false;
  release(&caps.lock);
}

cap_validation_result_t cap_validate_unified(cap_id_t id, struct cap_entry *out) {
  uint32_t i = cap_index(id);
  if (i == 0 || i >= NCAP) return VALIDATION_INVALID_ID;
  acquire(&caps.lock);
  struct cap_entry e = caps.entries[i];
  release(&caps.lock);
  if (!e.in_use || e.cap.generation != cap_gen(id)) return VALIDATION_REVOKED;
  if (out) *out = e;
  return VALIDATION_SUCCESS;
}

cap_validation_result_t cap_check(cap_id_t id, enum exo_resource type, uint32_t rights) {
  struct cap_entry e;
  cap_validation_result_t r = cap_validate_unified(id, &e);
  if (r != VALIDATION_SUCCESS) return r;
  if (e.cap.type != type) return VALIDATION_WRONG_TYPE;
  if ((e.cap.rights & rights) != rights) return VALIDATION_INSUFFICIENT_RIGHTS;
  return VALIDATION_SUCCESS;
}

const char *cap_validation_name(cap_validation_result_t r) {
  switch (r) {
  case VALIDATION_SUCCESS: return "VALIDATION_SUCCESS";
  case VALIDATION_INVALID_ID: return "VALIDATION_INVALID_ID";
  case VALIDATION_REVOKED: return "VALIDATION_REVOKED";
  case VALIDATION_INSUFFICIENT_RIGHTS: return "VALIDATION_INSUFFICIENT_RIGHTS";
  case VALIDATION_WRONG_TYPE: return "VALIDATION_WRONG_TYPE";
  }
  return "?";
}
