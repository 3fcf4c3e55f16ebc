/* tar_write.c: see tar_write.h.  POSIX ustar headers (pax's base format). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/tar_write.h"

struct ustar
{
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
  char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8];
  char prefix[155], pad[12];
};
_Static_assert(sizeof (struct ustar) == 512, "a ustar header is one block");

static int
out (struct tar_out *t, const void *buf, size_t len)
{
  int r = t->put (t->ctx, buf, len);
  if (r == 0)
    t->written += len;
  return r;
}

/* Octal, zero-padded to width - 1 digits and a NUL. */
static int
octal (char *field, size_t width, uint64_t v)
{
  char tmp[32];
  int n = snprintf (tmp, sizeof tmp, "%0*llo", (int)(width - 1), (unsigned long long)v);

  if (n < 0 || (size_t)n > width - 1)
    return -EOVERFLOW;
  memcpy (field, tmp, width);
  return 0;
}

static int
header (struct tar_out *t, const char *name, char type, mode_t mode, uint64_t size,
        const char *link)
{
  struct ustar h;
  size_t len = strlen (name);
  unsigned sum = 0;

  memset (&h, 0, sizeof h);
  if (len <= sizeof h.name)
    memcpy (h.name, name, len);
  else
    {
      /* split at a '/' so the prefix fits in 155 and the rest in 100 */
      const char *cut = NULL;
      for (const char *c = name; *c; c++)
        if (*c == '/' && (size_t)(c - name) <= sizeof h.prefix && strlen (c + 1) <= sizeof h.name)
          {
            cut = c;
            break;
          }
      if (cut == NULL)
        return -ENAMETOOLONG;
      memcpy (h.prefix, name, (size_t)(cut - name));
      memcpy (h.name, cut + 1, strlen (cut + 1));
    }
  if (link && strlen (link) > sizeof h.linkname)
    return -ENAMETOOLONG;
  if (link)
    memcpy (h.linkname, link, strlen (link));
  if (octal (h.mode, sizeof h.mode, mode & 07777) < 0 || octal (h.uid, sizeof h.uid, 0) < 0
      || octal (h.gid, sizeof h.gid, 0) < 0 || octal (h.size, sizeof h.size, size) < 0
      || octal (h.mtime, sizeof h.mtime, (uint64_t)t->mtime) < 0)
    return -EOVERFLOW;
  h.typeflag = type;
  memcpy (h.magic, "ustar", 6);
  memcpy (h.version, "00", 2);
  memcpy (h.uname, "root", 4);
  memcpy (h.gname, "root", 4);
  memset (h.chksum, ' ', sizeof h.chksum);
  for (size_t i = 0; i < sizeof h; i++)
    sum += ((unsigned char *)&h)[i];
  snprintf (h.chksum, sizeof h.chksum, "%06o", sum);
  return out (t, &h, sizeof h);
}

int
tar_file_begin (struct tar_out *t, const char *name, mode_t mode, uint64_t size)
{
  return header (t, name, '0', mode, size, NULL);
}

int
tar_data (struct tar_out *t, const void *buf, size_t len)
{
  return out (t, buf, len);
}

int
tar_pad (struct tar_out *t)
{
  static const char zeros[512];
  size_t rem = (size_t)(t->written % 512);

  return rem ? out (t, zeros, 512 - rem) : 0;
}

int
tar_file (struct tar_out *t, const char *name, mode_t mode, const void *data, size_t len)
{
  int r = tar_file_begin (t, name, mode, len);

  if (r == 0)
    r = tar_data (t, data, len);
  return r == 0 ? tar_pad (t) : r;
}

int
tar_dir (struct tar_out *t, const char *name, mode_t mode)
{
  return header (t, name, '5', mode, 0, NULL);
}

int
tar_symlink (struct tar_out *t, const char *name, const char *target)
{
  return header (t, name, '2', 0777, 0, target);
}

int
tar_finish (struct tar_out *t)
{
  static const char zeros[1024];

  return out (t, zeros, sizeof zeros);
}
