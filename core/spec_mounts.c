/* spec_mounts.c: config.json "mounts": destinations and the option list split into kernel
 * terms (MS_* flags to set and to clear, propagation, bind/rbind, recursive attributes,
 * idmap) plus the filesystem data string, accepting what runc and crun accept.
 *
 * Invariants: every destination is absolute (a relative one, allowed by 1.0.x, gets a
 * leading "/"); a later option overrides an earlier one it contradicts ("ro" then "rw" is
 * rw), so `flags` and `clear_flags` never share a bit; options this table does not know are
 * filesystem data, passed on verbatim in order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include "core/err.h"
#include "core/spec_internal.h"
#include "core/strv.h"

#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

enum opt_kind
{
  OPT_SET,       /* set `value` in flags */
  OPT_CLEAR,     /* clear `value` (the negated spelling: "rw", "suid" ...) */
  OPT_PROP,      /* propagation */
  OPT_REC_SET,   /* recursive attribute set ("rro") */
  OPT_REC_CLEAR, /* recursive attribute clear ("rrw") */
  OPT_BIND,
  OPT_RBIND,
  OPT_IDMAP,
  OPT_RIDMAP,
  OPT_TMPCOPYUP,
};

static const struct
{
  const char *name;
  enum opt_kind kind;
  unsigned long value;
} mount_opts[] = {
  { "ro", OPT_SET, MS_RDONLY },
  { "rw", OPT_CLEAR, MS_RDONLY },
  { "nosuid", OPT_SET, MS_NOSUID },
  { "suid", OPT_CLEAR, MS_NOSUID },
  { "nodev", OPT_SET, MS_NODEV },
  { "dev", OPT_CLEAR, MS_NODEV },
  { "noexec", OPT_SET, MS_NOEXEC },
  { "exec", OPT_CLEAR, MS_NOEXEC },
  { "sync", OPT_SET, MS_SYNCHRONOUS },
  { "async", OPT_CLEAR, MS_SYNCHRONOUS },
  { "dirsync", OPT_SET, MS_DIRSYNC },
  { "remount", OPT_SET, MS_REMOUNT },
  { "mand", OPT_SET, MS_MANDLOCK },
  { "nomand", OPT_CLEAR, MS_MANDLOCK },
  { "noatime", OPT_SET, MS_NOATIME },
  { "atime", OPT_CLEAR, MS_NOATIME },
  { "nodiratime", OPT_SET, MS_NODIRATIME },
  { "diratime", OPT_CLEAR, MS_NODIRATIME },
  { "relatime", OPT_SET, MS_RELATIME },
  { "norelatime", OPT_CLEAR, MS_RELATIME },
  { "strictatime", OPT_SET, MS_STRICTATIME },
  { "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
  { "lazytime", OPT_SET, MS_LAZYTIME },
  { "nolazytime", OPT_CLEAR, MS_LAZYTIME },
  { "nosymfollow", OPT_SET, MS_NOSYMFOLLOW },
  { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
  { "bind", OPT_BIND, 0 },
  { "rbind", OPT_RBIND, 0 },
  { "private", OPT_PROP, MS_PRIVATE },
  { "rprivate", OPT_PROP, MS_PRIVATE | MS_REC },
  { "shared", OPT_PROP, MS_SHARED },
  { "rshared", OPT_PROP, MS_SHARED | MS_REC },
  { "slave", OPT_PROP, MS_SLAVE },
  { "rslave", OPT_PROP, MS_SLAVE | MS_REC },
  { "unbindable", OPT_PROP, MS_UNBINDABLE },
  { "runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC },
  { "rro", OPT_REC_SET, MS_RDONLY },
  { "rrw", OPT_REC_CLEAR, MS_RDONLY },
  { "rnosuid", OPT_REC_SET, MS_NOSUID },
  { "rsuid", OPT_REC_CLEAR, MS_NOSUID },
  { "rnodev", OPT_REC_SET, MS_NODEV },
  { "rdev", OPT_REC_CLEAR, MS_NODEV },
  { "rnoexec", OPT_REC_SET, MS_NOEXEC },
  { "rexec", OPT_REC_CLEAR, MS_NOEXEC },
  { "rnoatime", OPT_REC_SET, MS_NOATIME },
  { "ratime", OPT_REC_CLEAR, MS_NOATIME },
  { "rnodiratime", OPT_REC_SET, MS_NODIRATIME },
  { "rdiratime", OPT_REC_CLEAR, MS_NODIRATIME },
  { "rrelatime", OPT_REC_SET, MS_RELATIME },
  { "rnorelatime", OPT_REC_CLEAR, MS_RELATIME },
  { "rstrictatime", OPT_REC_SET, MS_STRICTATIME },
  { "rnostrictatime", OPT_REC_CLEAR, MS_STRICTATIME },
  { "rnosymfollow", OPT_REC_SET, MS_NOSYMFOLLOW },
  { "rsymfollow", OPT_REC_CLEAR, MS_NOSYMFOLLOW },
  { "idmap", OPT_IDMAP, 0 },
  { "ridmap", OPT_RIDMAP, 0 },
  { "tmpcopyup", OPT_TMPCOPYUP, 0 },
};

void
spec_mount_clear (struct spec_mount *m)
{
  free (m->destination);
  free (m->type);
  free (m->source);
  strv_free (m->options);
  free (m->data);
  free (m->uid_mappings);
  free (m->gid_mappings);
}

static void
data_append (char **data, const char *opt)
{
  char *d;

  if (*data == NULL)
    {
      *data = xstrdup (opt);
      return;
    }
  d = xasprintf ("%s,%s", *data, opt);
  free (*data);
  *data = d;
}

static bool
apply_one (struct spec_mount *m, const char *opt)
{
  for (size_t i = 0; i < sizeof mount_opts / sizeof mount_opts[0]; i++)
    {
      unsigned long v = mount_opts[i].value;

      if (strcmp (opt, mount_opts[i].name) != 0)
        continue;
      switch (mount_opts[i].kind)
        {
        case OPT_SET:
          m->flags |= v;
          m->clear_flags &= ~v;
          break;
        case OPT_CLEAR:
          m->clear_flags |= v;
          m->flags &= ~v;
          break;
        case OPT_PROP:
          m->propagation = v;
          break;
        case OPT_REC_SET:
          m->rec_flags |= v;
          m->rec_clear_flags &= ~v;
          break;
        case OPT_REC_CLEAR:
          m->rec_clear_flags |= v;
          m->rec_flags &= ~v;
          break;
        case OPT_RBIND:
          m->recursive = true;
          /* fall through */
        case OPT_BIND:
          m->bind = true;
          break;
        case OPT_RIDMAP:
          m->idmap_recursive = true;
          /* fall through */
        case OPT_IDMAP:
          m->idmap = true;
          break;
        case OPT_TMPCOPYUP:
          m->tmpcopyup = true;
          break;
        }
      return true;
    }
  return false;
}

void
spec_mount_options_apply (struct spec_mount *m)
{
  m->flags = m->clear_flags = m->propagation = m->rec_flags = m->rec_clear_flags = 0;
  m->bind = m->type && strcmp (m->type, "bind") == 0;
  m->recursive = m->idmap = m->idmap_recursive = m->tmpcopyup = false;
  free (m->data);
  m->data = NULL;
  for (size_t i = 0; m->options && m->options[i]; i++)
    if (!apply_one (m, m->options[i]))
      data_append (&m->data, m->options[i]);
}

static int
parse_destination (struct spec_ctx *c, json_t *e, struct spec_mount *m)
{
  int r = spec_jstring (c, e, "destination", true, &m->destination);

  if (r < 0)
    return r;
  if (m->destination[0] == '\0')
    return spec_ctx_fail (c, "destination", "must not be empty");
  if (m->destination[0] != '/' && c->v1_0)
    {
      /* runtime-spec 1.0 allowed relative destinations, meaning relative to "/" */
      char *abs = xasprintf ("/%s", m->destination);
      free (m->destination);
      m->destination = abs;
    }
  return spec_check_abs (c, "destination", m->destination);
}

static int
parse_mount (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_mount *m = out;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = parse_destination (c, e, m);
  if (r >= 0)
    r = spec_jstring (c, e, "type", false, &m->type);
  if (r >= 0)
    r = spec_jstring (c, e, "source", false, &m->source);
  if (r >= 0)
    r = spec_jstrv (c, e, "options", &m->options);
  if (r >= 0)
    r = spec_jid_maps (c, e, "uidMappings", &m->uid_mappings, &m->n_uid_mappings);
  if (r >= 0)
    r = spec_jid_maps (c, e, "gidMappings", &m->gid_mappings, &m->n_gid_mappings);
  if (r < 0)
    return r;
  spec_mount_options_apply (m);
  return 0;
}

int
spec_parse_mounts (struct spec_ctx *c, json_t *root, struct spec *s)
{
  return spec_jarray_of (c, root, "mounts", sizeof *s->mounts, &s->mounts, &s->n_mounts,
                         parse_mount);
}
