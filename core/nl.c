/* nl.c: the netlink writer and attribute reader (see nl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "core/err.h"
#include "core/nl.h"

void
nl_buf_init (struct nl_buf *b)
{
  memset (b, 0, sizeof *b);
  b->seq = 0;
}

void
nl_buf_free (struct nl_buf *b)
{
  free (b->data);
  memset (b, 0, sizeof *b);
}

/* Append `len` bytes (zeroed when data is NULL), then zero padding to 4 bytes. */
static size_t
append (struct nl_buf *b, const void *data, size_t len)
{
  size_t off = b->len, padded = NLMSG_ALIGN (len);

  if (off + padded > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      while (cap < off + padded)
        cap *= 2;
      b->data = xrealloc (b->data, cap);
      b->cap = cap;
    }
  memset (b->data + off, 0, padded);
  if (data && len)
    memcpy (b->data + off, data, len);
  b->len += padded;
  return off;
}

size_t
nl_msg_begin (struct nl_buf *b, uint16_t type, uint16_t flags, const void *hdr, size_t hdr_len)
{
  struct nlmsghdr h = {
    .nlmsg_len = 0,
    .nlmsg_type = type,
    .nlmsg_flags = flags | NLM_F_REQUEST | NLM_F_ACK,
    .nlmsg_seq = ++b->seq,
  };
  size_t off = append (b, &h, sizeof h);
  append (b, hdr, hdr_len);
  return off;
}

void
nl_msg_end (struct nl_buf *b, size_t msg)
{
  struct nlmsghdr h;

  memcpy (&h, b->data + msg, sizeof h);
  h.nlmsg_len = (uint32_t)(b->len - msg);
  memcpy (b->data + msg, &h, sizeof h);
}

void
nl_append (struct nl_buf *b, const void *data, size_t len)
{
  append (b, data, len);
}

void
nl_put (struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
  struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

  append (b, &a, sizeof a);
  append (b, data, len);
}

void
nl_put_u8 (struct nl_buf *b, uint16_t type, uint8_t v)
{
  nl_put (b, type, &v, sizeof v);
}

void
nl_put_u32 (struct nl_buf *b, uint16_t type, uint32_t v)
{
  nl_put (b, type, &v, sizeof v);
}

void
nl_put_be32 (struct nl_buf *b, uint16_t type, uint32_t v)
{
  uint32_t be = htonl (v);
  nl_put (b, type, &be, sizeof be);
}

void
nl_put_str (struct nl_buf *b, uint16_t type, const char *s)
{
  nl_put (b, type, s, strlen (s) + 1);
}

size_t
nl_nest_begin (struct nl_buf *b, uint16_t type)
{
  struct nlattr a = { .nla_len = 0, .nla_type = type | NLA_F_NESTED };
  return append (b, &a, sizeof a);
}

void
nl_nest_end (struct nl_buf *b, size_t nest)
{
  struct nlattr a;

  memcpy (&a, b->data + nest, sizeof a);
  a.nla_len = (uint16_t)(b->len - nest);
  memcpy (b->data + nest, &a, sizeof a);
}

int
nl_attr_parse (const struct nlattr **tb, int max, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  size_t off = 0;

  memset (tb, 0, (size_t)(max + 1) * sizeof *tb);
  while (off + NLA_HDRLEN <= len)
    {
      const struct nlattr *a = (const struct nlattr *)(p + off);
      if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
        return -EINVAL;
      int type = a->nla_type & NLA_TYPE_MASK;
      if (type <= max)
        tb[type] = a;
      off += NLA_ALIGN (a->nla_len);
    }
  return 0;
}

uint32_t
nl_attr_u32 (const struct nlattr *a)
{
  uint32_t v = 0;

  if (a && nl_attr_len (a) == sizeof v)
    memcpy (&v, nl_attr_data (a), sizeof v);
  return v;
}

uint32_t
nl_attr_be32 (const struct nlattr *a)
{
  return ntohl (nl_attr_u32 (a));
}
