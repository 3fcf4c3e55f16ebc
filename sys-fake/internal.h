/* internal.h: the fake kernel's private data model, shared by the sys-fake/ files.
 *
 * Ownership: every kernel object (inode, namespace, mount, pipe, connection, listener,
 * process) is allocated with fake_obj_new() and lives until fake_kernel_free(), so a pointer
 * taken once never dangles (a removed inode or a reaped process is just unreachable).  Open
 * file descriptions (struct fake_file) are reference counted because their release has
 * meaning (EOF on pipes, flock release).  Only the fake's own call wrappers (fake.c) touch
 * the journal and fault counters. */
#ifndef FOCKER_FAKE_INTERNAL_H
#define FOCKER_FAKE_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include "sys-fake/fake.h"

#define FAKE_PIPE_CAP (1024 * 1024) /* "make pipes big": writes rarely block */
#define FAKE_STACK_SIZE (256 * 1024)
#define FAKE_MAXSYMLINKS 40

/* ---- objects ---- */
struct fake_obj
{
  struct fake_obj *next;
  void (*dtor) (void *);
  max_align_t body[];
};
void *fake_obj_new (struct fake_kernel *k, size_t size, void (*dtor) (void *));
void *fake_xmalloc (size_t n);
void *fake_xcalloc (size_t n, size_t size);
void *fake_xrealloc (void *p, size_t n);
char *fake_xstrdup (const char *s);
char *fake_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void fake_strv_free (char **v);
char **fake_strv_copy (char *const *v);

/* A byte queue: readers take from the front. */
struct fake_buf
{
  char *d;
  size_t len, cap;
};
void fake_buf_put (struct fake_buf *b, const void *p, size_t n);
size_t fake_buf_take (struct fake_buf *b, void *p, size_t n);

/* ---- VFS ---- */
enum fake_synth
{
  FS_NONE,
  FS_PROC_ROOT,    /* /proc when the VFS has no /proc dir */
  FS_PROC_PID,     /* /proc/<pid> */
  FS_PROC_FDDIR,   /* /proc/<pid>/fd */
  FS_PROC_FD,      /* /proc/<pid>/fd/N: magic link */
  FS_PROC_NSDIR,   /* /proc/<pid>/ns */
  FS_PROC_NS,      /* /proc/<pid>/ns/<type>: magic link */
  FS_PROC_FILE,    /* uid_map, gid_map, setgroups, oom_score_adj, cgroup: by name */
  FS_SYSCTL,       /* /proc/sys/...: dirs and files alike */
  FS_PTMX,         /* /dev/ptmx when the VFS has none */
  FS_PROC_MISC,    /* /proc/acpi, /proc/scsi ...: empty dirs, there to be masked */
  FS_PROC_ATTRDIR, /* /proc/<pid>/attr (sarg 0) and attr/apparmor (sarg 1): LSM attributes */
  FS_PROC_ROOTLNK, /* /proc/<pid>/root: magic link to the process's root directory */
};

struct fake_cghier; /* a cgroup hierarchy (cgroup.c) */

struct fake_inode
{
  unsigned long ino;
  mode_t mode; /* type and permission bits */
  uid_t uid;
  gid_t gid;
  dev_t rdev;
  struct timespec mtime;
  struct fake_inode *parent; /* NULL once unlinked (and for the VFS top) */
  char *name;
  struct fake_inode **kids; /* directories: entries in creation order */
  unsigned long *kid_pos;   /* each entry's getdents position: stable while others go */
  unsigned long next_pos;
  size_t n_kids, cap_kids;
  struct fake_buf data; /* regular files */
  char *link;           /* symlinks */
  struct fake_pipe *fifo;
  struct fake_listener *listener; /* a socket inode made by unix_listen */
  struct fake_ns *nsref;          /* fake_ns_file */
  enum fake_synth synth;
  pid_t spid; /* synthetic: the process */
  int sarg;   /* synthetic: fd number, or ns index (+FAKE_NS_COUNT for *_for_children) */
  char *skey; /* synthetic: file name or sysctl key */
  struct fake_cghier *cgh;  /* a cgroup directory of that hierarchy */
  char *cg_subtree;         /* v2: cgroup.subtree_control */
  struct fake_file **locks; /* open file descriptions holding a flock */
  size_t n_locks;
  struct fake_bpf_prog **bpf; /* v2 cgroup: attached device programs, in order */
  size_t n_bpf;
  bool bpf_multi;          /* attached with BPF_F_ALLOW_MULTI */
  struct fake_inode *hard; /* a hard link: the first name, which holds data and xattrs */
  unsigned extra_links;    /* on the first name: hard links made to it */
  unsigned fsflags;        /* FS_IOC_GETFLAGS/SETFLAGS flags (FS_TOPDIR_FL ...) */
  char **xattr_names;      /* xattrs (on the first name of hard-linked files) */
  struct fake_buf *xattr_vals;
  size_t n_xattrs;
};

/* The inode that holds a file's data and xattrs: itself, or the first name of a hard link. */
static inline struct fake_inode *
fake_body (struct fake_inode *ino)
{
  return ino->hard ? ino->hard : ino;
}

struct fake_inode *fake_inode_new (struct fake_kernel *k, mode_t mode);
void fake_inherit_gid (struct fake_inode *dir, struct fake_inode *ino);
struct fake_inode *fake_dir_lookup (struct fake_inode *dir, const char *name);
void fake_dir_link (struct fake_inode *dir, struct fake_inode *child, const char *name);
void fake_dir_unlink (struct fake_inode *child);
char *fake_inode_path (struct fake_inode *ino); /* malloc'd absolute host path */
/* 1 when the v1 devices cgroup `dir` allows every bit of `acc` (1 r, 2 w, 4 m), 0 when not,
 * -ENOENT when it is not one. */
int fake_v1_device_allowed (struct fake_inode *dir, char type, long major, long minor,
                            unsigned acc);
bool fake_inode_under (struct fake_inode *ino, struct fake_inode *top); /* at or under */

/* Path resolution (vfs.c). */
struct fake_lookup
{
  /* in */
  struct fake_inode *root; /* resolution root: process root, or dirfd with RESOLVE_IN_ROOT */
  struct fake_inode *start;
  uint64_t resolve; /* RESOLVE_* */
  bool follow;      /* follow a final symlink */
  bool parent;      /* stop at the last component: ino may be NULL */
  /* out */
  struct fake_inode *dir; /* parent of the last component (parent mode) */
  char name[NAME_MAX + 1];
  struct fake_inode *ino;  /* the inode, NULL if the last component is absent */
  struct fake_file *magic; /* the last component was a magic link to a non-inode file */
  struct fake_ns *magic_ns;
  bool slash; /* trailing slash */
};
int fake_resolve (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path,
                  struct fake_lookup *lk);
struct fake_inode *fake_host_lookup (struct fake_kernel *k, const char *path, bool follow);
int fake_create_at (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path,
                    mode_t mode, dev_t rdev, struct fake_inode **out);
int fake_resolve_simple (struct fake_kernel *k, int dirfd, const char *path, bool follow,
                         struct fake_inode **out);

/* ---- procfs and devices (procfs.c) ---- */
struct fake_inode *fake_procfs_lookup (struct fake_kernel *k, struct fake_proc *p,
                                       struct fake_inode *dir, const char *name,
                                       struct fake_inode *root);
bool fake_procfs_is_magic (struct fake_inode *ino);
int fake_procfs_follow (struct fake_kernel *k, struct fake_inode *link, struct fake_inode **to,
                        struct fake_file **file, struct fake_ns **ns);
int fake_procfs_readlink (struct fake_kernel *k, struct fake_inode *link, char **out);
ssize_t fake_procfs_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n);
ssize_t fake_procfs_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n);
int fake_procfs_entries (struct fake_kernel *k, struct fake_inode *dir, char ***names,
                         unsigned char **types);
char *fake_file_describe (struct fake_file *f); /* "pipe:[N]", "/path" ... */

/* ---- namespaces and mounts ---- */
struct fake_ns
{
  enum fake_ns_type type;
  unsigned long id;
  struct fake_ns *parent; /* user and pid namespaces */
  /* mnt */
  struct fake_mount **mounts;
  size_t n_mounts, cap_mounts;
  struct fake_mount *root_mount;
  /* uts */
  char hostname[65], domainname[65];
  /* user */
  char *uid_map, *gid_map;
  bool setgroups_deny;
  uid_t owner_uid; /* the creator's euid and egid: an unprivileged writer of the maps may */
  gid_t owner_gid; /* map just these */
  /* pid */
  pid_t next_pid;
};
struct fake_ns *fake_ns_new (struct fake_kernel *k, enum fake_ns_type type, struct fake_ns *from);
extern const char *const fake_ns_names[FAKE_NS_COUNT];
int fake_ns_type_from_clone (int flag); /* CLONE_NEWNET -> FAKE_NS_NET, -1 if not one */
int fake_ns_clone_flag (enum fake_ns_type t);
/* The process a pidfd refers to, NULL once its pid is gone. */
struct fake_proc *fake_pidfd_target (struct fake_kernel *k, struct fake_file *f);

void fake_mounts_seed (struct fake_kernel *k, struct fake_ns *mnt);
struct fake_mount *fake_mount_add (struct fake_kernel *k, struct fake_ns *mnt, const char *source,
                                   const char *target, const char *fstype, unsigned long flags,
                                   const char *data);
void fake_mounts_copy (struct fake_kernel *k, struct fake_ns *to, struct fake_ns *from);
struct fake_mount *fake_mount_exact (struct fake_ns *mnt, const char *host_path);
bool fake_mount_busy (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *ino);

/* ---- open files and fds (fds.c) ---- */
enum fake_file_kind
{
  FF_VNODE,  /* an inode (files, dirs, O_PATH, devices, procfs) */
  FF_PIPE,   /* pipe2 ends and opened fifos */
  FF_LISTEN, /* unix_listen */
  FF_CONN,   /* connected unix socket end, or pty master (side 0) / slave (side 1) */
  FF_NS,     /* /proc/PID/ns/X or a fake_ns_file */
  FF_PIDFD,
  FF_CONSOLE, /* fds 0-2 of spawned processes */
  FF_BPF,     /* a loaded BPF program (bpf.c) */
  FF_NETLINK, /* a netlink socket (net.c): ns, protocol in side */
};

struct fake_pipe
{
  struct fake_buf b;
  int readers, writers;
  unsigned long r_opens, w_opens; /* fifo open rendezvous */
  unsigned long ino;
};

struct fake_conn
{
  struct fake_buf b[2]; /* b[i]: bytes readable by side i */
  int open[2];
  struct fake_file **passed[2]; /* passed[i]: fds readable by side i */
  size_t n_passed[2];
  bool pty, locked;
  unsigned short rows, cols; /* pty window size (TIOCSWINSZ) */
  int pty_index;
  unsigned long ino;
};

struct fake_listener
{
  struct fake_conn **pending;
  size_t n_pending;
  bool open;
  unsigned long ino;
};

struct fake_file
{
  int refs;
  enum fake_file_kind kind;
  int flags; /* open flags minus O_CLOEXEC/O_CREAT/O_EXCL/O_TRUNC */
  bool rd, wr;
  off_t pos;
  struct fake_inode *ino;
  struct fake_pipe *pipe;
  struct fake_conn *conn;
  int side;
  struct fake_listener *lis;
  struct fake_ns *ns;
  pid_t pid; /* pidfd */
  unsigned long long start;
  int lock;                  /* 0, LOCK_SH or LOCK_EX */
  struct fake_bpf_prog *bpf; /* FF_BPF */
  struct fake_file *prev, *next;
};

struct fake_fd
{
  struct fake_file *f;
  bool cloexec;
};

void fake_net_free (struct fake_kernel *k);
struct fake_file *fake_file_new (struct fake_kernel *k, enum fake_file_kind kind);
struct fake_file *fake_file_ref (struct fake_file *f);
void fake_file_unref (struct fake_kernel *k, struct fake_file *f);
struct fake_file *fake_fd_get (struct fake_proc *p, int fd);
int fake_fd_install (struct fake_kernel *k, struct fake_proc *p, struct fake_file *f, bool cloexec,
                     int min); /* takes the reference; -EMFILE */
int fake_fd_close (struct fake_kernel *k, struct fake_proc *p, int fd);
void fake_fds_close_all (struct fake_kernel *k, struct fake_proc *p, bool only_cloexec);
void fake_fds_copy (struct fake_proc *to, struct fake_proc *from);
int fake_open_inode (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *ino, int flags,
                     struct fake_file **out); /* may block (fifos) */
int fake_file_reopen (struct fake_kernel *k, struct fake_file *src, int flags,
                      struct fake_file **out);
int fake_pty_open_master (struct fake_kernel *k, struct fake_file **out);
bool fake_file_readable (struct fake_kernel *k, struct fake_file *f);
void fake_flock_release (struct fake_file *f);

/* ---- processes (procs.c) ---- */
struct fake_proc *fake_self (struct fake_kernel *k);
struct fake_proc *fake_proc_any (struct fake_kernel *k, pid_t pid); /* incl. zombies */
struct fake_proc *fake_proc_new (struct fake_kernel *k, struct fake_proc *parent);
void fake_proc_exit (struct fake_kernel *k, struct fake_proc *p, int status, int sig);
int fake_proc_signal (struct fake_kernel *k, struct fake_proc *p, int sig);
void fake_proc_refresh (struct fake_kernel *k, struct fake_proc *p);
bool fake_proc_privileged (struct fake_proc *p);

/* ---- cgroups (cgroup.c) ---- */
struct fake_cg_member
{
  struct fake_cghier *h;
  struct fake_inode *dir;
};
void fake_cgroup_seed (struct fake_kernel *k);
/* Is `ino` the root directory of a cgroup hierarchy? */
bool fake_cg_is_root (const struct fake_inode *ino);
int fake_cgroup_mkdir (struct fake_kernel *k, struct fake_inode *dir);
int fake_cgroup_rmdir (struct fake_kernel *k, struct fake_inode *dir);
bool fake_cgroup_file (struct fake_inode *ino);
ssize_t fake_cgroup_write (struct fake_kernel *k, struct fake_file *f, const char *buf, size_t n);
void fake_cgroup_refresh (struct fake_kernel *k, struct fake_inode *ino);
void fake_cgroup_inherit (struct fake_proc *child, struct fake_proc *parent);
int fake_cgroup_enter (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *dir);
char *fake_cgroup_path (struct fake_proc *p);                             /* malloc'd */
char *fake_cgroup_proc_file (struct fake_kernel *k, struct fake_proc *p); /* /proc/PID/cgroup */

bool fake_cgroup_is_v2 (struct fake_inode *dir);
struct fake_inode *fake_cgroup_parent (struct fake_inode *dir); /* NULL at the root */
struct fake_inode *fake_cgroup_v2_of (struct fake_kernel *k, struct fake_proc *p); /* or NULL */

/* ---- BPF device programs (bpf.c) ---- */
struct bpf_insn;
struct fake_bpf_prog
{
  uint32_t id;
  struct bpf_insn *insns;
  unsigned n;
  int refs;  /* fds and attachments */
  bool live; /* refs > 0 once: reachable by id */
};
void fake_bpf_unref (struct fake_bpf_prog *prog);
void fake_bpf_detach_all (struct fake_inode *cgroup_dir);
/* 0, or -EPERM when the device programs of p's v2 cgroup refuse `acc` (BPF_DEVCG_ACC_*) on a
 * device node of `mode`/`rdev`. */
int fake_bpf_device_check (struct fake_kernel *k, struct fake_proc *p, mode_t mode, dev_t rdev,
                           unsigned acc);

/* ---- scheduler (sched.c) ---- */
typedef bool (*fake_ready_fn) (struct fake_kernel *k, void *arg);
void fake_sched_init (struct fake_kernel *k);
void fake_sched_fini (struct fake_kernel *k);
int fake_sched_start (struct fake_kernel *k, struct fake_proc *p, int (*fn) (void *), void *arg);
int fake_sched_wait (struct fake_kernel *k, fake_ready_fn ready, void *arg); /* 0 or -EDEADLK */
void fake_sched_preempt (struct fake_kernel *k);
void fake_sched_retire (struct fake_kernel *k, struct fake_ctx *c) __attribute__ ((noreturn));
void fake_sched_abandon (struct fake_kernel *k, struct fake_ctx *c);
/* The current coroutine's process exits with `status`; its frames are abandoned. */
void fake_sched_exit_current (struct fake_kernel *k, struct fake_proc *p, int status)
    __attribute__ ((noreturn));
const struct fake_program *fake_program_find (struct fake_kernel *k, const char *path);
bool fake_sched_in_main (struct fake_kernel *k);
struct fake_proc *fake_sched_proc (struct fake_kernel *k);
void fake_sched_set_main_proc (struct fake_kernel *k, struct fake_proc *p);

/* ---- the kernel ---- */
struct fake_sysctl
{
  char *key;
  unsigned long net_ns; /* 0 unless the key is per network namespace */
  char *value;
};

struct fake_kernel
{
  struct fake_personality pers;
  struct fake_obj *objs;
  struct fake_inode *top; /* the VFS top: host "/" */
  unsigned long next_ino;
  struct fake_proc **procs;
  size_t n_procs;
  pid_t next_pid;
  unsigned long long tick;
  struct fake_ns *init_ns[FAKE_NS_COUNT];
  unsigned long next_ns_id;
  unsigned long next_mnt_id;
  struct fake_file *files;
  struct fake_call *calls;
  size_t n_calls, cap_calls;
  long fault_countdown; /* > 0 counting, -1 persisting, 0 off */
  int fault_error;
  bool fault_persist;
  sys_mask_t fault_mask;
  long faults_hit;
  enum sys_id hook_id; /* fake_on_call */
  long hook_countdown; /* > 0 armed */
  void (*hook_fn) (struct fake_kernel *k, void *arg);
  void *hook_arg;
  struct fake_sched *sched;
  uint64_t now_ns;
  struct fake_buf console;
  struct fake_sysctl *sysctls;
  size_t n_sysctls;
  struct fake_cghier **cgh;
  size_t n_cgh;
  /* fake_cgroup_devices_watch: a v1 devices cgroup and an access checked after each write */
  struct fake_inode *dev_watch;
  struct fake_dev_rule
  {
    char type;
    long major, minor;
    unsigned acc;
  } dev_watch_rule;
  size_t dev_watch_lost;
  int next_pty;
  struct fake_proc *init;
  struct fake_program *programs; /* fake_program(): what exec of a path runs */
  struct fake_bpf_prog **bpf;    /* every program loaded */
  size_t n_bpf;
  uint32_t last_bpf_id;
  struct fake_net *net; /* links, addresses, routes, nf_tables (net.c) */
};

struct fake_program
{
  struct fake_program *next;
  char *path;
  fake_program_fn fn;
  void *arg;
};

extern struct fake_kernel *fake_current_kernel;

/* journal notes from inside a call: EDEADLK etc. are visible in `result` already */
bool fake_version_at_least (struct fake_kernel *k, int major, int minor);

/* Every syscall implementation, fake_do_<name>, declared from the SYS_CALLS list. */
#define FAKE_X_DECL(ret, name, params, args) ret fake_do_##name params;
SYS_CALLS (FAKE_X_DECL)
#undef FAKE_X_DECL

#endif
