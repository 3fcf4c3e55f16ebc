/* test_ctr.c: user containers on the fake kernel: run flags -> config.json (tables), size and
 * cpu parsing, records with unique names, name and prefix resolution, ps status texts, the
 * log format, and fault loops over create and rm that check nothing is left. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/ctr.h"
#include "core/ctr_net.h"
#include "core/ipam.h"
#include "core/net.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/spec.h"
#include "core/store.h"
#include "core/strv.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tarbuild.h"

#define STORE "/var/lib/focker"
#define RT "/run/focker"
#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "1111222222222222222222222222222222222222222222222222222222222222"

/* ---- flags -> config.json ---- */

static json_t *
applied (const struct ctr_opts *o, const char *want_err)
{
  _cleanup_free_ char *def = spec_default_json (false);
  json_t *spec = json_loads (def, 0, NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  int r = ctr_config_apply (spec, o, "/rec", NULL, false, &err);

  if (want_err)
    {
      assert_true (r < 0);
      if (strstr (err->msg, want_err) == NULL)
        fail_msg ("error \"%s\" does not say \"%s\"", err->msg, want_err);
      json_decref (spec);
      return NULL;
    }
  if (r < 0)
    fail_msg ("apply: %s", err->msg);
  return spec;
}

static json_t *
mount_at (json_t *spec, const char *dst)
{
  json_t *m;
  size_t i;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    if (strcmp (json_string_value (json_object_get (m, "destination")), dst) == 0)
      return m;
  }
  return NULL;
}

static bool
has_string (json_t *arr, const char *s)
{
  json_t *e;
  size_t i;
  json_array_foreach (arr, i, e)
  {
    if (strcmp (json_string_value (e), s) == 0)
      return true;
  }
  return false;
}

static void
run_flags_become_config (void **state)
{
  char *env[] = { "A=1", "PATH=/x", NULL };
  char *vols[] = { "/host/data:/data:ro", "/host/w:/w", NULL };
  char *mounts[] = { "type=tmpfs,target=/scratch,tmpfs-size=1m",
                     "type=bind,source=/s,target=/t,readonly", NULL };
  char *add[] = { "sys_admin", NULL }, *drop[] = { "CAP_KILL", "net_raw", NULL };
  char *sec[] = { "no-new-privileges", "label=type:spc_t", NULL };
  struct ctr_opts o = { .env = env,
                        .volumes = vols,
                        .mounts = mounts,
                        .cap_add = add,
                        .cap_drop = drop,
                        .security_opt = sec,
                        .hostname = "h1",
                        .memory = 256 << 20,
                        .cpu_quota = 150000,
                        .pids_limit = 20,
                        .read_only = true,
                        .tty = true,
                        .network = "none" };
  json_t *spec = applied (&o, NULL), *proc = json_object_get (spec, "process"), *m;
  json_t *res = json_object_get (json_object_get (spec, "linux"), "resources");
  json_t *bounding = json_object_get (json_object_get (proc, "capabilities"), "bounding");

  (void)state;
  assert_true (has_string (json_object_get (proc, "env"), "A=1"));
  assert_true (has_string (json_object_get (proc, "env"), "PATH=/x"));
  assert_false (has_string (json_object_get (proc, "env"),
                            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  m = mount_at (spec, "/data");
  assert_string_equal (json_string_value (json_object_get (m, "source")), "/host/data");
  assert_true (has_string (json_object_get (m, "options"), "ro"));
  assert_false (has_string (json_object_get (mount_at (spec, "/w"), "options"), "ro"));
  m = mount_at (spec, "/scratch");
  assert_string_equal (json_string_value (json_object_get (m, "type")), "tmpfs");
  assert_true (has_string (json_object_get (m, "options"), "size=1048576"));
  assert_true (has_string (json_object_get (mount_at (spec, "/t"), "options"), "ro"));
  assert_string_equal (
      json_string_value (json_object_get (mount_at (spec, "/etc/hosts"), "source")), "/rec/hosts");
  assert_non_null (mount_at (spec, "/etc/resolv.conf"));
  assert_non_null (mount_at (spec, "/etc/hostname"));
  assert_true (has_string (bounding, "CAP_SYS_ADMIN"));
  assert_true (has_string (bounding, "CAP_CHOWN"));
  assert_false (has_string (bounding, "CAP_KILL"));
  assert_false (has_string (bounding, "CAP_NET_RAW"));
  assert_true (json_is_true (json_object_get (proc, "noNewPrivileges")));
  assert_string_equal (json_string_value (json_object_get (proc, "selinuxLabel")),
                       "system_u:system_r:spc_t:s0");
  assert_true (json_is_true (json_object_get (proc, "terminal")));
  assert_true (json_is_true (json_object_get (json_object_get (spec, "root"), "readonly")));
  assert_string_equal (json_string_value (json_object_get (spec, "hostname")), "h1");
  assert_int_equal (json_integer_value (json_object_get (json_object_get (res, "memory"), "limit")),
                    256 << 20);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (res, "cpu"), "quota")),
                    150000);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (res, "cpu"), "period")),
                    100000);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (res, "pids"), "limit")),
                    20);
  json_decref (spec);
}

static void
defaults_are_dockers (void **state)
{
  struct ctr_opts o = { .network = "none" };
  json_t *spec = applied (&o, NULL), *proc = json_object_get (spec, "process");
  json_t *caps = json_object_get (json_object_get (proc, "capabilities"), "effective");

  (void)state;
  assert_int_equal (json_array_size (caps), 14);
  assert_false (json_is_true (json_object_get (proc, "noNewPrivileges")));
  assert_false (json_is_true (json_object_get (proc, "terminal")));
  assert_false (json_is_true (json_object_get (json_object_get (spec, "root"), "readonly")));
  json_decref (spec);
}

static const char *
ns_path (json_t *spec, const char *type, bool *found)
{
  json_t *e;
  size_t i;
  *found = false;
  json_array_foreach (json_object_get (json_object_get (spec, "linux"), "namespaces"), i, e)
  {
    if (strcmp (json_string_value (json_object_get (e, "type")), type) == 0)
      {
        *found = true;
        return json_string_value (json_object_get (e, "path"));
      }
  }
  return NULL;
}

static void
network_modes_shape_the_namespaces (void **state)
{
  _cleanup_free_ char *def = spec_default_json (false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = { .network = "none" };
  json_t *spec = json_loads (def, 0, NULL);
  bool found;

  (void)state;
  assert_int_equal (ctr_config_apply (spec, &o, NULL, NULL, true, &err), 0);
  ns_path (spec, "network", &found);
  assert_false (found);
  ns_path (spec, "uts", &found);
  assert_false (found);
  assert_null (json_object_get (spec, "hostname"));
  json_decref (spec);
  spec = json_loads (def, 0, NULL);
  assert_int_equal (ctr_config_apply (spec, &o, NULL, "/run/netns/x", false, &err), 0);
  assert_string_equal (ns_path (spec, "network", &found), "/run/netns/x");
  json_decref (spec);
}

static void
bad_flags_are_refused_with_one_line (void **state)
{
  static const struct
  {
    const char *vol, *mount, *cap_add, *cap_drop, *sec, *env, *want;
  } cases[] = {
    { .vol = "data:/data", .want = "absolute host path" },
    { .vol = "/a", .want = "expected SRC:DST" },
    { .vol = "/a:b", .want = "destination must be an absolute" },
    { .vol = "/a:/b:rx", .want = "unknown option \"rx\"" },
    { .mount = "type=volume,target=/x", .want = "type must be bind or tmpfs" },
    { .mount = "type=tmpfs,target=/x,tmpfs-size=lots", .want = "bad tmpfs-size" },
    { .mount = "type=bind,target=/x", .want = "source= must be" },
    { .mount = "type=bind,source=/a,target=/x,colour=red", .want = "unknown key \"colour\"" },
    { .cap_add = "CAP_FLY", .want = "--cap-add: unknown capability" },
    { .cap_drop = "nope", .want = "--cap-drop: unknown capability" },
    { .sec = "apparmor=x", .want = "--security-opt apparmor=x: unknown" },
    { .sec = "seccomp=/f", .want = "not a JSON seccomp profile" },
    { .env = "=x", .want = "expected KEY=VALUE" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *v[] = { (char *)cases[i].vol, NULL }, *m[] = { (char *)cases[i].mount, NULL };
      char *a[] = { (char *)cases[i].cap_add, NULL }, *d[] = { (char *)cases[i].cap_drop, NULL };
      char *s[] = { (char *)cases[i].sec, NULL }, *e[] = { (char *)cases[i].env, NULL };
      struct ctr_opts o = { .network = "none",
                            .volumes = v,
                            .mounts = m,
                            .cap_add = a,
                            .cap_drop = d,
                            .security_opt = s,
                            .env = e };
      applied (&o, cases[i].want);
    }
}

static void
sizes_and_cpus_parse (void **state)
{
  static const struct
  {
    const char *in;
    int64_t out; /* -1: refused */
  } sizes[] = { { "256m", 256LL << 20 }, { "1g", 1LL << 30 }, { "512k", 512 << 10 },
                { "100b", 100 },         { "4096", 4096 },    { "1.5g", 3LL << 29 },
                { "12q", -1 },           { "m", -1 },         { "", -1 },
                { "-1m", -1 },           { "0", -1 },         { "1mb", 1 << 20 },
                { "1mbx", -1 } };
  int64_t v;

  (void)state;
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    {
      int r = ctr_parse_size (sizes[i].in, &v);
      if (sizes[i].out < 0)
        assert_int_equal (r, -EINVAL);
      else
        {
          assert_int_equal (r, 0);
          assert_int_equal (v, sizes[i].out);
        }
    }
  assert_int_equal (ctr_parse_cpus ("1.5", &v), 0);
  assert_int_equal (v, 150000);
  assert_int_equal (ctr_parse_cpus ("0.25", &v), 0);
  assert_int_equal (v, 25000);
  assert_int_equal (ctr_parse_cpus ("0", &v), -EINVAL);
  assert_int_equal (ctr_parse_cpus ("two", &v), -EINVAL);
  assert_int_equal (ctr_parse_cpus ("1.5x", &v), -EINVAL);
}

/* ---- records on the fake ---- */

static struct fake_kernel *
kernel_with_image (struct store **s)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct tarb *t = tarb_new (TARB_GZIP);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  const char *buf;
  size_t len;

  tarb_dir (t, "bin", 0755, 10);
  tarb_file (t, "bin/sh", "ELF", 0755);
  tarb_file (t, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home:/bin/sh\n", 0644);
  tarb_file (t, "etc/group", "root:x:0:\n", 0644);
  buf = tarb_end (t, &len);
  put_bytes ("/in.tar.gz", buf, len);
  tarb_free (t);
  put_bytes ("/etc/hosts", "127.0.0.1 localhost host\n", 25);
  if (store_open (s, STORE, true, false, &err) < 0)
    fail_msg ("store_open: %s", err->msg);
  if (image_import (*s, AT_FDCWD, "/in.tar.gz", "app", id, &err) < 0)
    fail_msg ("import: %s", err->msg);
  return k;
}

static void
create_or_fail (struct store *s, const struct ctr_opts *o)
{
  _cleanup_err_ struct focker_err *err = NULL;
  if (ctr_create (s, o, &err) < 0)
    fail_msg ("ctr_create: %s", err->msg);
}

static void
records_have_unique_names_and_resolve (void **state)
{
  struct store *s = NULL;
  struct fake_kernel *k = kernel_with_image (&s);
  _cleanup_err_ struct focker_err *err = NULL;
  char *cmd[] = { "sh", "-c", "true", NULL };
  struct ctr_opts o = { .id = ID1,
                        .name = "web",
                        .image = "app",
                        .network = "none",
                        .cmd = cmd,
                        .workdir = "/srv",
                        .hostname = "111111111111" };
  _cleanup_free_ char *cfg = NULL;
  char id[CTR_ID_LEN + 1];
  void *j = NULL;

  (void)state;
  create_or_fail (s, &o);
  assert_true (fake_exists (k, STORE "/containers/" ID1 "/container.json"));
  assert_true (fake_exists (k, STORE "/containers/" ID1 "/hosts"));
  assert_non_null (
      fake_mount_find (k, fake_current_pid (k), STORE "/containers/" ID1 "/bundle/rootfs"));
  cfg = fx_read (STORE "/containers/" ID1 "/bundle/config.json");
  assert_non_null (strstr (cfg, "\"cwd\": \"/srv\""));
  assert_non_null (strstr (cfg, "\"true\""));
  /* the name is taken: refused, nothing of the second made */
  o.id = ID2;
  assert_int_equal (ctr_create (s, &o, &err), -EEXIST);
  assert_non_null (strstr (err->msg, "\"web\" is already in use by container 111111111111"));
  assert_false (fake_exists (k, STORE "/containers/" ID2));
  focker_err_free (TAKE_PTR (err));
  o.name = NULL;
  create_or_fail (s, &o);
  assert_int_equal (ctr_resolve (s, "web", id, &err), 0);
  assert_string_equal (id, ID1);
  assert_int_equal (ctr_resolve (s, "11112", id, &err), 0);
  assert_string_equal (id, ID2);
  assert_int_equal (ctr_resolve (s, ID1, id, &err), 0);
  assert_string_equal (id, ID1);
  assert_int_equal (ctr_resolve (s, "1111", id, &err), -EINVAL); /* both */
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (ctr_resolve (s, "nope", id, &err), -ENOENT);
  assert_string_equal (err->msg, "no such container: nope");
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (ctr_read_config (&j, s, ID1, &err), 0);
  assert_string_equal (json_string_value (json_object_get (j, "Name")), "web");
  json_decref (j);
  /* removed: the name is free again, no mount, no record */
  assert_int_equal (ctr_remove (s, RT, ID1, false, &err), 0);
  assert_int_equal (ctr_remove (s, RT, ID2, false, &err), 0);
  assert_false (fake_exists (k, STORE "/containers/" ID1));
  assert_false (fake_exists (k, STORE "/containers/names/web"));
  assert_null (
      fake_mount_find (k, fake_current_pid (k), STORE "/containers/" ID1 "/bundle/rootfs"));
  o.name = "web";
  o.id = ID2;
  create_or_fail (s, &o);
  assert_int_equal (ctr_remove (s, RT, ID2, false, &err), 0);
  /* a name left by an rm killed after the record went: free again */
  put_bytes (STORE "/containers/names/stale", ID2, CTR_ID_LEN);
  o.name = "stale";
  o.id = ID1;
  create_or_fail (s, &o);
  assert_int_equal (ctr_resolve (s, "stale", id, &err), 0);
  assert_string_equal (id, ID1);
  assert_false (fake_exists (k, STORE "/containers/names/.tmp-" ID1));
  assert_int_equal (ctr_remove (s, RT, ID1, false, &err), 0);
  assert_false (fake_exists (k, STORE "/containers/names/stale"));
  store_close (s);
  fake_kernel_free (k);
}

static void
bad_input_leaves_nothing (void **state)
{
  static const struct
  {
    const char *image, *name, *network, *workdir, *want;
  } cases[] = {
    { .image = "missing", .want = "missing" },
    { .image = "app", .name = "bad name", .want = "invalid container name" },
    { .image = "app", .network = "bridge", .want = "needs a runtime root" },
    { .image = "app", .network = "overlay", .want = "unknown mode" },
    { .image = "app", .workdir = "rel", .want = "must be absolute" },
  };
  struct store *s = NULL;
  struct fake_kernel *k = kernel_with_image (&s);

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct ctr_opts o = { .id = ID1,
                            .image = cases[i].image,
                            .name = cases[i].name,
                            .network = cases[i].network ? cases[i].network : "none",
                            .workdir = cases[i].workdir };
      size_t mounts = fake_mount_count (k, fake_current_pid (k));
      assert_true (ctr_create (s, &o, &err) < 0);
      if (strstr (err->msg, cases[i].want) == NULL)
        fail_msg ("case %zu: \"%s\" does not say \"%s\"", i, err->msg, cases[i].want);
      assert_false (fake_exists (k, STORE "/containers/" ID1));
      assert_int_equal (fake_mount_count (k, fake_current_pid (k)), mounts);
    }
  store_close (s);
  fake_kernel_free (k);
}

static size_t
entries (const char *dir)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_strv_ char **names = NULL;
  if (list_dir_at (&names, AT_FDCWD, dir, &err) < 0)
    return 0;
  return strv_length (names);
}

static int
create_and_rm_run (struct fx_fault *f, void *ctx)
{
  const int op = *(const int *)ctx;
  struct store *s = NULL;
  struct fake_kernel *k = kernel_with_image (&s);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o
      = { .id = ID1, .name = "web", .image = "app", .network = "none", .hostname = "h" };
  size_t mounts = fake_mount_count (k, fake_current_pid (k));
  size_t fds = fake_open_fds (k, fake_current_pid (k));
  int r;

  if (op == 1)
    create_or_fail (s, &o);
  fx_fault_arm (f, k);
  r = op == 0 ? ctr_create (s, &o, &err) : ctr_remove (s, RT, ID1, false, &err);
  fx_fault_disarm (f);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), fds);
  if (r < 0)
    assert_int_equal (err->code, r);
  if (r < 0 && op == 1)
    {
      /* a failed rm can be retried to the end */
      focker_err_free (TAKE_PTR (err));
      if (ctr_remove (s, RT, ID1, true, &err) < 0)
        fail_msg ("rm -f after a fault at call %ld: %s", f->n, err->msg);
    }
  if (r < 0 || op == 1)
    {
      if (!f->persist || op == 1)
        {
          assert_false (fake_exists (k, STORE "/containers/" ID1));
          if (fake_exists (k, STORE "/containers/names/web"))
            {
              fx_dump_journal (k, 25);
              fail_msg ("op %d f->persist %d f->n %ld r %d: the name is left", op, f->persist, f->n,
                        r);
            }
          assert_int_equal (fake_mount_count (k, fake_current_pid (k)), mounts);
          assert_int_equal (entries (STORE "/bundles"), 0);
        }
    }
  else if (!fake_exists (k, STORE "/containers/names/web"))
    {
      fx_dump_journal (k, 30);
      fail_msg ("op %d f->persist %d f->n %ld: created without its name", op, f->persist, f->n);
    }
  store_close (s);
  fake_kernel_free (k);
  return r;
}

static void
create_and_rm_survive_every_fault (void **state)
{
  (void)state;
  for (int op = 0; op <= 1; op++)
    fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, create_and_rm_run, &op);
}

/* ---- bridge networking through the user layer ---- */

static const char *const publish_8080[] = { "8080:80", "127.0.0.1:5353:53/udp", NULL };

static struct ctr_opts
bridge_opts (const char *id, const char *const *publish)
{
  struct ctr_opts o = { .id = id,
                        .image = "app",
                        .network = "bridge",
                        .hostname = "h",
                        .run_root = RT,
                        .publish = (char **)publish };
  return o;
}

static size_t
n_leases (void)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct ipam *ipam = NULL;
  size_t n;

  if (ipam_open (&ipam, STORE, NULL, &err) < 0)
    fail_msg ("ipam_open: %s", err->msg);
  n = ipam->n_leases;
  ipam_close (ipam);
  return n;
}

static char *
host_net (struct fake_kernel *k)
{
  return fake_net_dump (k, fake_ns_id (k, 1, FAKE_NS_NET));
}

/* The image store, and the host's network after one bridge container came and went (the
 * bridge stays, as docker0 does): *baseline is what "nothing left" looks like. */
static struct fake_kernel *
bridge_kernel (struct store **s, char **baseline)
{
  struct fake_kernel *k = kernel_with_image (s);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = bridge_opts (ID2, publish_8080);

  fake_write_file (k, "/etc/resolv.conf", "nameserver 10.0.0.2\n", 0644);
  create_or_fail (*s, &o);
  if (ctr_remove (*s, RT, ID2, true, &err) < 0)
    fail_msg ("rm: %s", err->msg);
  *baseline = host_net (k);
  return k;
}

/* No record, lease, netns file, files dir or link of ID1; the host's network as baseline. */
static void
assert_bridge_clean (struct fake_kernel *k, const char *baseline)
{
  _cleanup_free_ char *dump = host_net (k);

  assert_false (fake_exists (k, STORE "/containers/" ID1));
  assert_false (fake_exists (k, RT "/.network/netns/" ID1));
  assert_false (fake_exists (k, RT "/.network/files/" ID1));
  assert_int_equal (n_leases (), 0);
  assert_string_equal (dump, baseline);
}

static void
bridge_create_attaches_and_rm_detaches (void **state)
{
  _cleanup_free_ char *baseline = NULL, *cfg = NULL, *rec = NULL, *dump = NULL;
  struct store *s = NULL;
  struct fake_kernel *k = bridge_kernel (&s, &baseline);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = bridge_opts (ID1, publish_8080);
  static const char *const clash[] = { "8080:81", NULL };
  void *j = NULL;
  json_t *ns;

  (void)state;
  o.name = "web";
  create_or_fail (s, &o);
  /* config.json joins the attached namespace and binds core/net's files */
  cfg = fx_read (STORE "/containers/" ID1 "/bundle/config.json");
  assert_non_null (strstr (cfg, "\"path\": \"" RT "/.network/netns/" ID1 "\""));
  assert_non_null (strstr (cfg, "\"source\": \"" RT "/.network/files/" ID1 "/hosts\""));
  assert_non_null (strstr (cfg, "\"source\": \"" RT "/.network/files/" ID1 "/resolv.conf\""));
  rec = fx_read (RT "/.network/files/" ID1 "/hosts");
  assert_non_null (strstr (rec, "172.17.0.2\th\n"));
  assert_true (fake_exists (k, RT "/.network/netns/" ID1));
  assert_int_equal (n_leases (), 1);
  dump = host_net (k);
  assert_string_not_equal (dump, baseline); /* the veth and the dnat rules */
  /* the record: docker's NetworkSettings and PortBindings */
  assert_int_equal (ctr_read_config (&j, s, ID1, &err), 0);
  ns = json_object_get (j, "NetworkSettings");
  assert_string_equal (json_string_value (json_object_get (ns, "IPAddress")), "172.17.0.2");
  assert_string_equal (json_string_value (json_object_get (ns, "Gateway")), "172.17.0.1");
  assert_int_equal (json_integer_value (json_object_get (ns, "IPPrefixLen")), 16);
  assert_string_equal (
      json_string_value (json_object_get (
          json_array_get (json_object_get (json_object_get (ns, "Ports"), "80/tcp"), 0),
          "HostPort")),
      "8080");
  assert_string_equal (
      json_string_value (json_object_get (
          json_array_get (json_object_get (json_object_get (ns, "Ports"), "53/udp"), 0), "HostIp")),
      "127.0.0.1");
  assert_non_null (json_object_get (
      json_object_get (json_object_get (j, "HostConfig"), "PortBindings"), "80/tcp"));
  json_decref (j);
  /* a host port another container publishes: one line, nothing of the second left */
  struct ctr_opts o2 = bridge_opts (ID2, clash);
  assert_int_equal (ctr_create (s, &o2, &err), -EADDRINUSE);
  assert_string_equal (err->msg,
                       "host port 8080/tcp is already published by container 111111111111");
  focker_err_free (TAKE_PTR (err));
  assert_false (fake_exists (k, STORE "/containers/" ID2));
  assert_false (fake_exists (k, RT "/.network/netns/" ID2));
  assert_int_equal (n_leases (), 1);
  /* rm: the veth, lease, netns file, files and rules go with the record */
  assert_int_equal (ctr_remove (s, RT, ID1, true, &err), 0);
  assert_bridge_clean (k, baseline);
  assert_false (fake_exists (k, STORE "/containers/names/web"));
  store_close (s);
  fake_kernel_free (k);
}

static void
bad_publish_is_refused_before_any_change (void **state)
{
  static const struct
  {
    const char *network, *publish, *want;
  } cases[] = {
    { "none", "80", "-p: publish 80: not [IP:]HOST:CTR[/tcp|udp]" }, /* checked, then dropped */
    { "host", "80", "-p: publish 80: not [IP:]HOST:CTR[/tcp|udp]" },
    { "bridge", "80", "-p: publish 80: not [IP:]HOST:CTR[/tcp|udp]" },
    { "bridge", "8080:80/sctp", "protocol \"sctp\" is not tcp or udp" },
    { "bridge", "8080:70000", "port \"70000\" is not 1 to 65535" },
    { "bridge", "8080:80", NULL }, /* duplicated below: published twice */
  };
  _cleanup_free_ char *baseline = NULL;
  struct store *s = NULL;
  struct fake_kernel *k = bridge_kernel (&s, &baseline);

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      const char *pub[] = { cases[i].publish, cases[i].want ? NULL : cases[i].publish, NULL };
      struct ctr_opts o = bridge_opts (ID1, pub);
      o.network = cases[i].network;
      assert_true (ctr_create (s, &o, &err) < 0);
      const char *want = cases[i].want ? cases[i].want : "host port 8080/tcp is published twice";
      if (strstr (err->msg, want) == NULL)
        fail_msg ("case %zu: \"%s\" does not say \"%s\"", i, err->msg, want);
      assert_bridge_clean (k, baseline);
    }
  store_close (s);
  fake_kernel_free (k);
}

/* -p with --network host or none: docker discards the ports (with a warning, the CLI's) and
 * runs; the host's network is left exactly as it was, no lease, no rule, no Ports in the
 * record, and HostConfig keeps what was asked (as docker's inspect shows it). */
static void
host_and_none_networks_discard_published_ports (void **state)
{
  static const char *const modes[] = { "host", "none" };

  (void)state;
  for (size_t m = 0; m < 2; m++)
    {
      _cleanup_free_ char *baseline = NULL, *rec = NULL, *dump = NULL;
      _cleanup_err_ struct focker_err *err = NULL;
      struct store *s = NULL;
      struct fake_kernel *k = bridge_kernel (&s, &baseline);
      struct ctr_opts o = bridge_opts (ID1, publish_8080);

      o.network = modes[m];
      create_or_fail (s, &o);
      dump = host_net (k);
      assert_string_equal (dump, baseline);
      assert_int_equal (n_leases (), 0);
      rec = fx_read (STORE "/containers/" ID1 "/container.json");
      json_t *j = json_loads (rec, 0, NULL);
      assert_int_equal (
          json_object_size (json_object_get (json_object_get (j, "NetworkSettings"), "Ports")), 0);
      assert_true (
          json_object_size (json_object_get (json_object_get (j, "HostConfig"), "PortBindings"))
          > 0);
      json_decref (j);
      assert_int_equal (ctr_remove (s, RT, ID1, true, &err), 0);
      assert_bridge_clean (k, baseline);
      store_close (s);
      fake_kernel_free (k);
    }
}

/* What a reboot does to id: its namespace, veth and files go, leases.json stays. */
static void
reboot (const char *id)
{
  _cleanup_free_ char *leases = fx_read (STORE "/net/leases.json");
  _cleanup_err_ struct focker_err *err = NULL;
  const struct net_paths paths = { .storage_root = STORE, .run_root = RT };

  if (net_detach (&paths, id, &err) < 0)
    fail_msg ("detach: %s", err->msg);
  put_bytes (STORE "/net/leases.json", leases, strlen (leases));
}

/* A reboot empties the runtime root (the namespace, the veth, the files) and keeps
 * leases.json: start attaches the container again, as it was; a port taken meanwhile fails
 * with one line and leaves nothing new. */
static void
bridge_start_after_reboot_attaches_again (void **state)
{
  _cleanup_free_ char *baseline = NULL, *before = NULL, *after = NULL;
  struct store *s = NULL;
  struct fake_kernel *k = bridge_kernel (&s, &baseline);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = bridge_opts (ID1, publish_8080);
  static const char *const taken[] = { "8080:81", NULL };
  const struct net_paths paths = { .storage_root = STORE, .run_root = RT };
  void *j = NULL;

  (void)state;
  create_or_fail (s, &o);
  before = host_net (k);
  assert_int_equal (ctr_net_restore (s, RT, ID1, &err), 0); /* nothing to do */
  after = host_net (k);
  assert_string_equal (after, before);
  reboot (ID1);
  assert_int_equal (n_leases (), 1);
  assert_int_equal (ctr_net_restore (s, RT, ID1, &err), 0);
  free (after);
  after = host_net (k);
  assert_string_equal (after, before); /* the same veth, address and rules */
  assert_true (fake_exists (k, RT "/.network/netns/" ID1));
  assert_true (fake_exists (k, RT "/.network/files/" ID1 "/hosts"));
  assert_int_equal (n_leases (), 1);
  assert_int_equal (ctr_read_config (&j, s, ID1, &err), 0);
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (j, "NetworkSettings"), "IPAddress")),
      "172.17.0.2");
  json_decref (j);
  /* rebooted again, and another container took 8080 first */
  assert_int_equal (net_detach (&paths, ID1, &err), 0);
  struct ctr_opts o2 = bridge_opts (ID2, taken);
  create_or_fail (s, &o2);
  assert_int_equal (ctr_net_restore (s, RT, ID1, &err), -EADDRINUSE);
  assert_string_equal (err->msg,
                       "host port 8080/tcp is already published by container 111122222222");
  focker_err_free (TAKE_PTR (err));
  assert_false (fake_exists (k, RT "/.network/netns/" ID1));
  assert_int_equal (n_leases (), 1);
  assert_int_equal (ctr_remove (s, RT, ID2, true, &err), 0);
  assert_int_equal (ctr_remove (s, RT, ID1, true, &err), 0);
  assert_bridge_clean (k, baseline);
  store_close (s);
  fake_kernel_free (k);
}

static int
bridge_restore_run (struct fx_fault *f, void *ctx)
{
  _cleanup_free_ char *baseline = NULL;
  struct store *s = NULL;
  struct fake_kernel *k = bridge_kernel (&s, &baseline);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = bridge_opts (ID1, publish_8080);
  size_t fds;
  int r;

  (void)ctx;
  create_or_fail (s, &o);
  reboot (ID1);
  fds = fake_open_fds (k, fake_current_pid (k));
  fx_fault_arm (f, k);
  r = ctr_net_restore (s, RT, ID1, &err);
  fx_fault_disarm (f);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), fds);
  if (r < 0)
    {
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
      if (!f->persist)
        assert_false (fake_exists (k, RT "/.network/netns/" ID1));
    }
  else
    assert_true (fake_exists (k, RT "/.network/netns/" ID1));
  if (ctr_remove (s, RT, ID1, true, &err) < 0)
    fail_msg ("rm -f after a fault at %ld of restore: %s", f->n, err->msg);
  assert_bridge_clean (k, baseline);
  store_close (s);
  fake_kernel_free (k);
  return r;
}

/* Fail call N of a start's re-attach after a reboot, once and persistently: no fd left, an
 * error set; without the namespace the start cannot go on, and rm -f leaves nothing. */
static void
bridge_restore_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, bridge_restore_run, NULL);
}

static int
bridge_create_and_rm_run (struct fx_fault *f, void *ctx)
{
  const int op = *(const int *)ctx;
  _cleanup_free_ char *baseline = NULL;
  struct store *s = NULL;
  struct fake_kernel *k = bridge_kernel (&s, &baseline);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = bridge_opts (ID1, publish_8080);
  size_t fds = fake_open_fds (k, fake_current_pid (k));
  int r;

  o.name = "web";
  if (op == 1)
    create_or_fail (s, &o);
  fx_fault_arm (f, k);
  r = op == 0 ? ctr_create (s, &o, &err) : ctr_remove (s, RT, ID1, false, &err);
  fx_fault_disarm (f);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), fds);
  if (r < 0)
    {
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
    }
  if (r < 0 && (op == 1 || f->persist))
    {
      /* what a crash or a failed undo left: rm -f finds it from the record, and
       * the network's own detach from the names */
      ctr_remove (s, RT, ID1, true, &err);
      focker_err_free (TAKE_PTR (err));
      if (ctr_net_detach ("bridge", STORE, RT, ID1, &err) < 0)
        fail_msg ("op %d f->n %ld: detach after the fault: %s", op, f->n, err->msg);
    }
  if (r < 0 || op == 1)
    {
      if (fake_exists (k, STORE "/containers/" ID1) && f->persist && op == 0)
        {
          /* a record whose undo failed: rm -f removes it */
          if (ctr_remove (s, RT, ID1, true, &err) < 0)
            fail_msg ("rm -f after a fault at %ld: %s", f->n, err->msg);
        }
      assert_bridge_clean (k, baseline);
    }
  else
    {
      assert_int_equal (n_leases (), 1);
      assert_true (fake_exists (k, RT "/.network/netns/" ID1));
    }
  store_close (s);
  fake_kernel_free (k);
  return r;
}

/* Fail call N of a bridge create (op 0) or rm (op 1), once and persistently: a failed create
 * leaves no record, lease, netns, veth or rule (after a persistent fault, whose undo fails
 * too, rm -f of what is left does); a failed rm is finished by rm -f. */
static void
bridge_create_and_rm_survive_every_fault (void **state)
{
  (void)state;
  for (int op = 0; op <= 1; op++)
    fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, bridge_create_and_rm_run, &op);
}

/* ---- status, logs ---- */

static void
status_texts_are_dockers (void **state)
{
  static const struct
  {
    const char *state;
    bool monitor, running;
    const char *want;
  } cases[] = {
    { "{}", false, false, "Created" },
    { "{\"Status\":\"running\",\"StartedAt\":\"2026-01-01T00:00:00.1Z\"}", true, true,
      "Up 5 seconds" },
    { "{\"Status\":\"exited\",\"ExitCode\":3,\"FinishedAt\":\"2026-01-01T00:00:00Z\"}", false,
      false, "Exited (3) 5 seconds ago" },
    { "{\"Status\":\"running\",\"StartedAt\":\"2026-01-01T00:00:00Z\"}", false, false,
      "Exited (unknown)" },
    { "{\"Status\":\"running\",\"StartedAt\":\"2026-01-01T00:00:00Z\"}", false, true,
      "Up 5 seconds (no monitor: exit status will not be recorded)" },
  };
  int64_t t0 = ctr_parse_time ("2026-01-01T00:00:00Z");

  (void)state;
  assert_int_equal (t0, 1767225600);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      json_t *st = json_loads (cases[i].state, 0, NULL);
      struct ctr_view v;
      ctr_view_from (&v, st, cases[i].monitor, cases[i].running);
      _cleanup_free_ char *text = ctr_status_text (&v, t0 + 5);
      assert_string_equal (text, cases[i].want);
      json_decref (st);
    }
  {
    _cleanup_free_ char *a = ctr_human_duration (1), *b = ctr_human_duration (150);
    _cleanup_free_ char *c = ctr_human_duration (7200), *d = ctr_human_duration (3 * 86400);
    assert_string_equal (a, "1 second");
    assert_string_equal (b, "2 minutes");
    assert_string_equal (c, "2 hours");
    assert_string_equal (d, "3 days");
  }
}

/* The monitor named by a record is believed only while that very process lives: after it
 * died and another process took its pid (a later start time), ps must not say "Up" (nor
 * wait wait forever).  A record of an older focker (no MonitorStartTime) believes the pid. */
static void
monitor_with_a_recycled_pid_is_dead (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  pid_t mon = fake_spawn (k), me = fake_spawn (k);
  json_t *st = ctr_monitor_fields (mon), *old;
  struct ctr_view v;

  (void)state;
  json_object_set_new (st, "Status", json_string ("running"));
  old = json_pack ("{s:s,s:I}", "Status", "running", "MonitorPid", (json_int_t)mon);
  assert_true (json_is_integer (json_object_get (st, "MonitorStartTime")));
  assert_true (ctr_monitor_alive (st));
  assert_true (ctr_monitor_alive (old));
  fake_exit (k, mon, 0); /* a child of pid 1: reaped at once */
  assert_false (ctr_monitor_alive (st));
  assert_false (ctr_monitor_alive (old));
  assert_int_equal (fake_pid_recycle (k, mon), mon);
  assert_false (ctr_monitor_alive (st));
  ctr_view_from (&v, st, ctr_monitor_alive (st), false);
  assert_int_equal (v.status, CTR_EXITED);
  assert_int_equal (v.exit_code, -1);
  assert_true (ctr_monitor_alive (old)); /* the pid alone cannot tell */
  json_decref (st);
  json_decref (old);
  (void)me;
  fake_kernel_free (k);
}

static void
log_lines_round_trip (void **state)
{
  _cleanup_free_ char *line
      = ctr_log_line ("stderr", "a\"b\n\x01\xff", 6, "2026-01-01T00:00:00.000000001Z");
  char *stream, *time, *text;

  (void)state;
  assert_non_null (line);
  assert_true (line[strlen (line) - 1] == '\n');
  assert_true (strchr (line, '\n') == line + strlen (line) - 1); /* one line */
  assert_non_null (strstr (line, "\"stream\":\"stderr\""));
  assert_int_equal (ctr_log_parse (line, &stream, &time, &text), 0);
  assert_string_equal (stream, "stderr");
  assert_string_equal (time, "2026-01-01T00:00:00.000000001Z");
  /* an invalid UTF-8 byte becomes U+FFFD (JSON strings are UTF-8) */
  assert_string_equal (text, "a\"b\n\x01\xef\xbf\xbd");
  free (stream);
  free (time);
  free (text);
  assert_int_equal (ctr_log_parse ("{\"log\":1}", &stream, &time, &text), -EINVAL);
  assert_int_equal (ctr_log_parse ("not json", &stream, &time, &text), -EINVAL);
}

/* state.json: absent is an empty record (Created); updates merge, the rest stays */
static void
state_updates_merge (void **state)
{
  struct store *s = NULL;
  struct fake_kernel *k = kernel_with_image (&s);
  _cleanup_err_ struct focker_err *err = NULL;
  struct ctr_opts o = { .id = ID1, .image = "app", .network = "none", .hostname = "h" };
  json_t *f;
  void *st = NULL;

  (void)state;
  create_or_fail (s, &o);
  assert_int_equal (ctr_read_state (&st, s, ID1, &err), 0);
  assert_int_equal (json_object_size (st), 0);
  json_decref (st);
  f = json_pack ("{s:s,s:i}", "Status", "running", "Pid", 5);
  assert_int_equal (ctr_update_state (s, ID1, f, &err), 0);
  json_decref (f);
  f = json_pack ("{s:s,s:i}", "Status", "exited", "ExitCode", 3);
  assert_int_equal (ctr_update_state (s, ID1, f, &err), 0);
  json_decref (f);
  assert_int_equal (ctr_read_state (&st, s, ID1, &err), 0);
  assert_string_equal (json_string_value (json_object_get (st, "Status")), "exited");
  assert_int_equal (json_integer_value (json_object_get (st, "Pid")), 5);
  assert_int_equal (json_integer_value (json_object_get (st, "ExitCode")), 3);
  json_decref (st);
  /* a removed record: the monitor's late update fails, and creates nothing */
  assert_int_equal (ctr_remove (s, RT, ID1, false, &err), 0);
  f = json_pack ("{s:s}", "Status", "exited");
  assert_true (ctr_update_state (s, ID1, f, &err) < 0);
  json_decref (f);
  assert_false (fake_exists (k, STORE "/containers/" ID1));
  store_close (s);
  fake_kernel_free (k);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (run_flags_become_config),
    cmocka_unit_test (defaults_are_dockers),
    cmocka_unit_test (network_modes_shape_the_namespaces),
    cmocka_unit_test (bad_flags_are_refused_with_one_line),
    cmocka_unit_test (sizes_and_cpus_parse),
    cmocka_unit_test (records_have_unique_names_and_resolve),
    cmocka_unit_test (bad_input_leaves_nothing),
    cmocka_unit_test (create_and_rm_survive_every_fault),
    cmocka_unit_test (bridge_create_attaches_and_rm_detaches),
    cmocka_unit_test (bad_publish_is_refused_before_any_change),
    cmocka_unit_test (host_and_none_networks_discard_published_ports),
    cmocka_unit_test (bridge_create_and_rm_survive_every_fault),
    cmocka_unit_test (bridge_start_after_reboot_attaches_again),
    cmocka_unit_test (bridge_restore_survives_every_fault),
    cmocka_unit_test (status_texts_are_dockers),
    cmocka_unit_test (monitor_with_a_recycled_pid_is_dead),
    cmocka_unit_test (log_lines_round_trip),
    cmocka_unit_test (state_updates_merge),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
