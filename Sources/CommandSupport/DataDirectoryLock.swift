import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The lock a node takes on its data directory (`<folder>/LOCK`, flock), seen from outside.
public enum DataDirectoryLock {
    /// True when another process holds the folder's lock.
    public static func isHeld(_ folder: String) -> Bool {
        let descriptor = open(folder + "/LOCK", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return false }  // no LOCK file: nobody ever opened it
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    /// Waits until no process holds the folder's lock, saying once what it waits for;
    /// fails with exit 74 if the lock is still held after `timeout`.
    public static func waitUntilFree(_ folder: String, timeout: Duration) async throws {
        guard isHeld(folder) else { return }
        printToStandardError("waiting for \(folder): another process still holds its lock (a node of an earlier run that is stopping?)")
        let deadline = ContinuousClock.now + timeout
        while isHeld(folder) {
            guard ContinuousClock.now < deadline else {
                throw commandFailure(
                    "data directory \(folder) is still in use by another process after \(timeout); find it with `fuser \(folder)/LOCK` and stop it",
                    status: ExitStatus.ioError)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        printToStandardError("\(folder) is free")
    }
}
