/* test_rootfs.c: how the container's filesystems are mounted, on the fake kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/container.h"
#include "tests/unit/fixture.h"

static const char *const config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
      "\"mode=755\"]},"
      "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}],"
      "\"mountLabel\":\"system_u:object_r:container_file_t:s0:c1,c2\"}}";

static const struct create_opts opts = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE };

/* linux.mountLabel: a context= option on tmpfs and the like when SELinux is on; procfs keeps
 * the policy's label; with SELinux off the label is ignored. */
static void
mount_label_goes_on_labelable_filesystems (void **state)
{
  (void)state;
  for (int selinux = 0; selinux < 2; selinux++)
    {
      const struct fake_mount *dev, *tmp, *proc;
      struct focker_err *err = NULL;
      struct fx_world w;
      pid_t init = 0;

      fx_world_init (&w, NULL, config);
      if (selinux)
        assert_int_equal (fake_write_file (w.k, "/sys/fs/selinux/enforce", "1", 0644), 0);
      FX_OK (&w, container_create (&opts, &init, &err), err);
      dev = fake_mount_find (w.k, init, "/dev");
      tmp = fake_mount_find (w.k, init, "/tmp");
      proc = fake_mount_find (w.k, init, "/proc");
      assert_non_null (dev);
      assert_non_null (tmp);
      assert_non_null (proc);
      if (selinux)
        {
          assert_string_equal (dev->data,
                               "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
          assert_string_equal (tmp->data, "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
        }
      else
        {
          assert_string_equal (dev->data, "mode=755");
          assert_true (tmp->data == NULL || strstr (tmp->data, "context=") == NULL);
        }
      assert_true (proc->data == NULL || strstr (proc->data, "context=") == NULL);
      fx_next_command (&w);
      FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
      fx_world_fini (&w);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (mount_label_goes_on_labelable_filesystems),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
