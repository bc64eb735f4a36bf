#!/usr/bin/env python3
"""powerfs: a FUSE filesystem that loses, on a "power cut", every write not covered by fsync.

    powerfs.py VOLATILE DURABLE MOUNTPOINT

Processes see MOUNTPOINT, backed by VOLATILE (everything written, like the page cache).
DURABLE holds only what a real disk would keep after a power cut:
  - file contents and sizes reach DURABLE only when the file is fsync'd/fdatasync'd (the dirty
    4 KiB pages of that file are copied, then its size is set and DURABLE's copy fsync'd);
    sync_file_range, close() and plain write() copy nothing (sled#1452's failure mode);
  - namespace operations (create, mkdir, rename, unlink, rmdir, chmod) are applied to DURABLE at
    once (an optimistic model of a journalling filesystem's metadata: kinder than a real disk,
    so a loss seen here is a loss for certain).
A power cut is: SIGKILL the processes using the mount, SIGKILL this process, `umount -l`, and
look at DURABLE. Needs fusepy and libfuse2 (scripts/setup-fuse.sh).
"""

import errno
import os
import sys
import threading

from fuse import FUSE, FuseOSError, Operations

PAGE = 4096


class PowerFS(Operations):
    def __init__(self, volatile, durable):
        self.v = os.path.realpath(volatile)
        self.d = os.path.realpath(durable)
        self.lock = threading.Lock()
        # relative path -> set of dirty page numbers; a present key with an empty set means only
        # the size changed (truncate).
        self.dirty = {}

    def _v(self, path):
        return os.path.join(self.v, path.lstrip("/"))

    def _d(self, path):
        return os.path.join(self.d, path.lstrip("/"))

    # -- reads: all from VOLATILE --------------------------------------------------------------
    def access(self, path, mode):
        if not os.access(self._v(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        st = os.lstat(self._v(path))
        return {k: getattr(st, k) for k in (
            "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size",
            "st_uid", "st_blocks")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._v(path))

    def readlink(self, path):
        return os.readlink(self._v(path))

    def statfs(self, path):
        st = os.statvfs(self._v(path))
        return {k: getattr(st, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}

    def open(self, path, flags):
        return os.open(self._v(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    # -- namespace: both sides at once ---------------------------------------------------------
    def _both(self, fn, *paths):
        fn(*[self._v(p) for p in paths])
        try:
            fn(*[self._d(p) for p in paths])
        except FileNotFoundError:
            pass

    def chmod(self, path, mode):
        with self.lock:
            self._both(lambda p: os.chmod(p, mode), path)

    def chown(self, path, uid, gid):
        with self.lock:
            self._both(lambda p: os.chown(p, uid, gid), path)

    def mkdir(self, path, mode):
        with self.lock:
            os.mkdir(self._v(path), mode)
            os.makedirs(self._d(path), mode, exist_ok=True)

    def rmdir(self, path):
        with self.lock:
            self._both(os.rmdir, path)

    def unlink(self, path):
        with self.lock:
            self._both(os.unlink, path)
            self.dirty.pop(path, None)

    def symlink(self, name, target):
        with self.lock:
            os.symlink(target, self._v(name))
            os.symlink(target, self._d(name))

    def rename(self, old, new):
        with self.lock:
            os.rename(self._v(old), self._v(new))
            if os.path.lexists(self._d(old)):
                os.rename(self._d(old), self._d(new))
            if old in self.dirty:
                self.dirty[new] = self.dirty.pop(old)
            else:
                self.dirty.pop(new, None)

    def link(self, target, name):
        raise FuseOSError(errno.EPERM)

    def utimens(self, path, times=None):
        os.utime(self._v(path), times)

    def create(self, path, mode, fi=None):
        with self.lock:
            # fusepy passes no open flags here: read-write, so a creator that reads back what it
            # wrote (redb) works as on a real filesystem.
            fd = os.open(self._v(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)
            # The name exists after a cut; its contents only once fsync'd.
            dfd = os.open(self._d(path), os.O_WRONLY | os.O_CREAT, mode)
            os.close(dfd)
            self.dirty.setdefault(path, set())
            return fd

    # -- data: VOLATILE now, DURABLE on fsync --------------------------------------------------
    def write(self, path, data, offset, fh):
        with self.lock:
            n = os.pwrite(fh, data, offset)
            pages = self.dirty.setdefault(path, set())
            pages.update(range(offset // PAGE, (offset + max(n, 1) - 1) // PAGE + 1))
            return n

    def truncate(self, path, length, fh=None):
        with self.lock:
            with open(self._v(path), "r+b") as f:
                f.truncate(length)
            self.dirty.setdefault(path, set())

    def flush(self, path, fh):
        return 0  # close() is not a durability point

    def release(self, path, fh):
        os.close(fh)
        return 0

    def fsync(self, path, datasync, fh):
        with self.lock:
            pages = self.dirty.pop(path, None)
            if pages is None:
                return 0
            size = os.fstat(fh).st_size
            src = os.open(self._v(path), os.O_RDONLY)
            dst = os.open(self._d(path), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                for p in sorted(pages):
                    off = p * PAGE
                    if off >= size:
                        continue
                    os.pwrite(dst, os.pread(src, PAGE, off), off)
                os.ftruncate(dst, size)
                os.fsync(dst)
            finally:
                os.close(src)
                os.close(dst)
            return 0

    def fsyncdir(self, path, datasync, fh):
        return 0


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    volatile, durable, mnt = sys.argv[1:]
    FUSE(PowerFS(volatile, durable), mnt, foreground=True, nothreads=False, allow_other=False,
         default_permissions=False)


if __name__ == "__main__":
    main()
