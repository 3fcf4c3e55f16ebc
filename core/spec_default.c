/* spec_default.c: the config.json `focker spec` writes, modelled on `crun spec` (hostname
 * "focker" instead of "crun"), and its rootless variant, modelled on `runc spec --rootless`.
 *
 * Invariants: the output always passes spec_parse() (a unit test round-trips both
 * variants); the rootless variant needs no privilege: a user namespace mapping container
 * root to one host id, /sys bind-mounted from the host (sysfs cannot be mounted without
 * owning the network namespace's user namespace on older kernels), no uid=/gid= mount
 * options (gid 5 is not mapped), and no cgroup resources. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/err.h"
#include "core/spec.h"

static const char default_spec[]
    = "{"
      "\"ociVersion\": \"1.0.0\","
      "\"process\": {"
      "  \"terminal\": true,"
      "  \"user\": {\"uid\": 0, \"gid\": 0},"
      "  \"args\": [\"sh\"],"
      "  \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
      "           \"TERM=xterm\"],"
      "  \"cwd\": \"/\","
      "  \"capabilities\": {"
      "    \"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
      "    \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
      "    \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]"
      "  },"
      "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
      "  \"noNewPrivileges\": true"
      "},"
      "\"root\": {\"path\": \"rootfs\", \"readonly\": true},"
      "\"hostname\": \"focker\","
      "\"mounts\": ["
      "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
      "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
      "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
      "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
      "   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\","
      "                 \"gid=5\"]},"
      "  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","
      "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"
      "  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","
      "   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
      "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
      "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
      "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
      "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}"
      "],"
      "\"linux\": {"
      "  \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
      "  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
      "                 {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],"
      "  \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\","
      "                  \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\","
      "                  \"/proc/sched_debug\", \"/proc/scsi\", \"/sys/firmware\","
      "                  \"/sys/fs/selinux\", \"/sys/dev/block\"],"
      "  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\","
      "                    \"/proc/sysrq-trigger\"]"
      "}"
      "}";

static json_t *
id_map (unsigned long host_id)
{
  json_t *arr = json_array ();

  json_array_append_new (arr, json_pack ("{s:i, s:I, s:i}", "containerID", 0, "hostID",
                                         (json_int_t)host_id, "size", 1));
  return arr;
}

/* Drop uid=/gid= options: the ids they name are not mapped in a one-id user namespace. */
static void
strip_id_options (json_t *mount)
{
  json_t *opts = json_object_get (mount, "options");

  for (size_t i = 0; i < json_array_size (opts);)
    {
      const char *o = json_string_value (json_array_get (opts, i));
      if (strncmp (o, "uid=", 4) == 0 || strncmp (o, "gid=", 4) == 0)
        json_array_remove (opts, i);
      else
        i++;
    }
}

static void
make_rootless (json_t *root, uid_t uid, gid_t gid)
{
  json_t *linux_ = json_object_get (root, "linux");
  json_t *mounts = json_object_get (root, "mounts");
  json_t *m;
  size_t i;

  json_array_append_new (json_object_get (linux_, "namespaces"),
                         json_pack ("{s:s}", "type", "user"));
  json_object_set_new (linux_, "uidMappings", id_map (uid));
  json_object_set_new (linux_, "gidMappings", id_map (gid));
  json_object_del (linux_, "resources");
  json_array_foreach (mounts, i, m)
  {
    if (strcmp (json_string_value (json_object_get (m, "destination")), "/sys") == 0)
      json_array_set_new (mounts, i,
                          json_pack ("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination", "/sys",
                                     "type", "none", "source", "/sys", "options", "rbind", "nosuid",
                                     "noexec", "nodev", "ro"));
    else
      strip_id_options (m);
  }
}

char *
spec_default_json_ids (bool rootless, uid_t host_uid, gid_t host_gid)
{
  json_t *root = json_loads (default_spec, 0, NULL);
  char *text, *out;

  if (root == NULL) /* the template is a constant: only out of memory gets here */
    abort ();
  if (rootless)
    make_rootless (root, host_uid, host_gid);
  text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  json_decref (root);
  if (text == NULL)
    abort ();
  /* end with a newline like every text file; copy so the caller frees with free() */
  out = xasprintf ("%s\n", text);
  free (text);
  return out;
}

char *
spec_default_json (bool rootless)
{
  return spec_default_json_ids (rootless, 1000, 1000);
}
