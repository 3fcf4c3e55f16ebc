/* nl.h: focker's netlink message writer and attribute reader.
 *
 * Written from the kernel UAPI headers (linux/netlink.h): a message is a struct nlmsghdr, a
 * family header, then attributes (struct nlattr: length, type, payload padded to 4 bytes);
 * a nested attribute holds attributes.  Messages are appended to one growing buffer, so a
 * netfilter batch (begin, messages, end) is one buffer sent with one sys_netlink_talk().
 *
 * Positions are byte offsets into the buffer, never pointers: the buffer moves as it grows.
 * Every message gets the next sequence number and NLM_F_REQUEST|NLM_F_ACK (the seam waits
 * for the acknowledgement of the last one). */
#ifndef FOCKER_NL_H
#define FOCKER_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

struct nl_buf
{
  uint8_t *data;
  size_t len, cap;
  uint32_t seq; /* of the last message begun */
};

void nl_buf_init (struct nl_buf *b);
void nl_buf_free (struct nl_buf *b);

/* Begin a message of `type` with `flags` (NLM_F_REQUEST|NLM_F_ACK are added) followed by the
 * family header `hdr` (hdr_len bytes, padded).  Returns the message's offset for nl_msg_end. */
size_t nl_msg_begin (struct nl_buf *b, uint16_t type, uint16_t flags, const void *hdr,
                     size_t hdr_len);
/* Set the message's length to everything appended since nl_msg_begin. */
void nl_msg_end (struct nl_buf *b, size_t msg);

/* Raw bytes (a family header inside a nest), padded to 4. */
void nl_append (struct nl_buf *b, const void *data, size_t len);
void nl_put (struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nl_put_u8 (struct nl_buf *b, uint16_t type, uint8_t v);
void nl_put_u32 (struct nl_buf *b, uint16_t type, uint32_t v);
void nl_put_be32 (struct nl_buf *b, uint16_t type, uint32_t v); /* host value, stored big endian */
void nl_put_str (struct nl_buf *b, uint16_t type, const char *s); /* with its NUL */
/* A nested attribute: its offset, closed by nl_nest_end (NLA_F_NESTED is set). */
size_t nl_nest_begin (struct nl_buf *b, uint16_t type);
void nl_nest_end (struct nl_buf *b, size_t nest);

/* Reading.  `tb` (max + 1 slots) gets the last attribute of each type <= max found in
 * buf[0..len); unknown types are skipped.  Returns -EINVAL when an attribute's length runs
 * past the buffer or is shorter than its header. */
int nl_attr_parse (const struct nlattr **tb, int max, const void *buf, size_t len);
static inline const void *
nl_attr_data (const struct nlattr *a)
{
  return (const uint8_t *)a + NLA_HDRLEN;
}
static inline size_t
nl_attr_len (const struct nlattr *a)
{
  return a->nla_len - NLA_HDRLEN;
}
uint32_t nl_attr_u32 (const struct nlattr *a); /* 0 unless 4 bytes */
uint32_t nl_attr_be32 (const struct nlattr *a);

/* The attributes after the family header of the message at `msg` (hdr_len bytes of header). */
static inline const void *
nl_msg_attrs (const struct nlmsghdr *h, size_t hdr_len, size_t *len)
{
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN (hdr_len);
  *len = h->nlmsg_len > off ? h->nlmsg_len - off : 0;
  return (const uint8_t *)h + off;
}

#endif
