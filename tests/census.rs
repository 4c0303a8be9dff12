//! Counting what a process holds: open fds and threads.

/// The number of open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map_or(0, |d| d.count())
        .saturating_sub(1) // the dir's own fd
}

/// The number of threads of this process.
pub fn threads() -> usize {
    threads_where(|_| true)
}

/// The number of threads of this process whose name (`comm`, at most 15
/// bytes) satisfies `named`.
pub fn threads_where(named: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| {
        tasks
            .filter_map(Result::ok)
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| named(name.trim()))
            })
            .count()
    })
}
