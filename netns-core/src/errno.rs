//! The error number of a failed system call, as a type of this crate's own:
//! a dependency's type in our public API would make its upgrades ours.

use std::fmt;

/// An error number (`errno`) the kernel returned, e.g. [`Errno::EPERM`].
///
/// Compare it with the constants, or take the number with
/// [`raw`](Errno::raw). `Display` gives the name and the C library's
/// description (`EPERM: Operation not permitted`), `Debug` the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Errno = Errno(libc::$name);
            )*

            /// The symbolic name, if it is one of the constants.
            fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(libc::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

// The numbers this crate's errors name, and those a caller is likely to
// meet around namespaces.
errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    EBADF,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ENOSPC,
    EROFS,
    ENOSYS,
    ENAMETOOLONG,
    ELOOP,
    ENOPROTOOPT,
    EOPNOTSUPP,
    ENOBUFS,
    EUSERS,
    ENETDOWN,
    ENETUNREACH,
    ECONNREFUSED,
    ETIMEDOUT,
);

impl Errno {
    /// The error number `raw` (as `errno` holds it).
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The number, as `errno` holds it and
    /// [`std::io::Error::from_raw_os_error`] takes it.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The C library's description, e.g. `Operation not permitted`.
    pub fn description(self) -> String {
        // `Display` of an OS error is "DESCRIPTION (os error N)".
        let text = std::io::Error::from_raw_os_error(self.0).to_string();
        match text.rfind(" (os error ") {
            Some(end) => text[..end].to_owned(),
            None => text,
        }
    }
}

impl Errno {
    /// `nix`'s error number as ours (not a `From`: that would put `nix`
    /// into the public API).
    pub(crate) fn from_nix(errno: nix::errno::Errno) -> Errno {
        Errno(errno as i32)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}: {}", self.description())
    }
}

impl From<Errno> for std::io::Error {
    fn from(errno: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(errno.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_descriptions() {
        assert_eq!(Errno::EPERM.raw(), libc::EPERM);
        assert_eq!(format!("{:?}", Errno::ENOSPC), "ENOSPC");
        assert_eq!(Errno::EPERM.to_string(), "EPERM: Operation not permitted");
        assert_eq!(format!("{:?}", Errno::from_raw(4095)), "Errno(4095)");
        assert_eq!(Errno::from_nix(nix::errno::Errno::EACCES), Errno::EACCES);
    }
}
