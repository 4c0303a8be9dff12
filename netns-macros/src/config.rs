//! The `key = value` options of `#[netns_test(...)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Lit, LitStr, Meta, Path, Token};

use crate::errors::Errors;
use crate::signature::Param;

/// The options, in the order the "unknown option" error lists them.
const KEYS: [Key; 9] = [
    Key::Loopback,
    Key::Uplink,
    Key::Network,
    Key::Node,
    Key::Timeout,
    Key::Capture,
    Key::Crate,
    Key::Flavor,
    Key::WorkerThreads,
];

#[derive(Clone, Copy, PartialEq)]
enum Key {
    Loopback,
    Uplink,
    Network,
    Node,
    Timeout,
    Capture,
    Crate,
    Flavor,
    WorkerThreads,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Loopback => "loopback",
            Key::Uplink => "uplink",
            Key::Network => "network",
            Key::Node => "node",
            Key::Timeout => "timeout",
            Key::Capture => "capture",
            Key::Crate => "crate",
            Key::Flavor => "flavor",
            Key::WorkerThreads => "worker_threads",
        }
    }

    /// Whether the option may be written alone, meaning `= true`.
    fn is_flag(self) -> bool {
        matches!(self, Key::Uplink | Key::Capture)
    }

    /// How to write the option, for errors about its form.
    fn example(self) -> &'static str {
        match self {
            Key::Loopback => "`loopback = true` or `loopback = false`",
            Key::Uplink => "`uplink`, `uplink = true` or `uplink = false`",
            Key::Network => "`network = path::to::topology`",
            Key::Node => "`node = \"name\"`",
            Key::Timeout => "`timeout = \"5s\"` (or `\"500ms\"`, `\"2m\"`)",
            Key::Capture => "`capture`, `capture = true` or `capture = false`",
            Key::Crate => "`crate = path::to::netns_test`",
            Key::Flavor => "`flavor = \"current_thread\"` or `flavor = \"multi_thread\"`",
            Key::WorkerThreads => "`worker_threads = 2`",
        }
    }
}

/// The tokio runtime an `async fn` test runs on.
#[derive(Clone, Copy)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread { worker_threads: Option<usize> },
}

#[derive(Clone, Copy, PartialEq)]
enum FlavorName {
    CurrentThread,
    MultiThread,
}

/// The parsed options.
pub(crate) struct Config {
    /// Whether `lo` is brought up in the new namespace.
    pub(crate) loopback: bool,
    /// Whether the namespace gets `eth0` and default routes through a
    /// gateway node.
    pub(crate) uplink: bool,
    /// `network = path`: the fn that describes the test's network, and
    /// `node = "name"`: the node the body runs in. Checked together once
    /// every option is read, so they keep their tokens.
    network: Option<(Path, Meta)>,
    node: Option<(LitStr, Meta)>,
    /// `timeout = "5s"`: how long the body may run, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// Whether the test's packets are captured (kept if it fails).
    pub(crate) capture: bool,
    /// The `uplink` or `network` option, if given: it needs netns-test's
    /// `network` feature.
    network_option: Option<Meta>,
    /// Path to netns-test, for crates that reach it through a re-export.
    pub(crate) krate: Path,
    // Whether these two are allowed depends on the fn being async, so they
    // are kept with their tokens until `flavor` can point at them.
    flavor: Option<(FlavorName, Meta)>,
    worker_threads: Option<(usize, Meta)>,
}

impl Config {
    /// Parses the attribute's arguments, reporting every bad option at once.
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated
            .parse2(args)
            .map_err(|error| {
                Error::new(
                    error.span(),
                    format!("{error}; options are written `key = value`, like `loopback = false`"),
                )
            })?;
        let mut config = Config {
            loopback: true,
            uplink: false,
            network: None,
            node: None,
            timeout_ms: None,
            capture: false,
            network_option: None,
            krate: syn::parse_quote!(::netns_test),
            flavor: None,
            worker_threads: None,
        };
        let mut seen = Vec::new();
        let mut errors = Errors::default();
        for meta in metas {
            errors.ok(config.set(meta, &mut seen));
        }
        errors.ok(config.check_network(&seen));
        errors.finish()?;
        Ok(config)
    }

    /// The test's network, if `network = path` was given: the path, and the
    /// node the body runs in (`None`: the test's own new namespace).
    pub(crate) fn topology(&self) -> Option<(&Path, Option<&LitStr>)> {
        let (path, _) = self.network.as_ref()?;
        Some((path, self.node.as_ref().map(|(name, _)| name)))
    }

    /// Without `node`, the body runs outside the network `network`
    /// builds, so it needs the network as its parameter.
    pub(crate) fn check_param(&self, param: Param) -> syn::Result<()> {
        match (&self.network, &self.node) {
            // A parameter of another spelling is checked by the compiler
            // (see `expand`).
            (Some((_, meta)), None) if param != Param::Network && param != Param::Typed => {
                Err(Error::new_spanned(
                    meta,
                    "the body would have no way to reach this network: take it as a parameter \
                 (`net: &Network`) or run the body in one of its nodes (`node = \"name\"`)",
                ))
            }
            _ => Ok(()),
        }
    }

    /// A network (an option asking for one, or a `net: &Network`
    /// parameter, `param_tokens`) needs netns-test's `network` feature.
    pub(crate) fn check_network_feature(
        &self,
        param: Param,
        param_tokens: Option<&syn::FnArg>,
    ) -> syn::Result<()> {
        if cfg!(feature = "network") {
            return Ok(());
        }
        let message = crate::signature::needs_feature("test networks need", "network");
        if let Some(meta) = &self.network_option {
            return Err(Error::new_spanned(meta, message));
        }
        match (param, param_tokens) {
            (Param::Network, Some(tokens)) => Err(Error::new_spanned(tokens, message)),
            _ => Ok(()),
        }
    }

    /// `node` needs `network`; `uplink` builds a network of its own.
    fn check_network(&self, seen: &[Key]) -> syn::Result<()> {
        let mut errors = Errors::default();
        // A `network` that was given but did not parse has its own error.
        if let (Some((_, meta)), false) = (&self.node, seen.contains(&Key::Network)) {
            errors.push(Error::new_spanned(
                meta,
                "`node` needs `network = path::to::topology`: it names the node of that \
                 network the body runs in",
            ));
        }
        if let (Some((_, meta)), true) = (&self.network, self.uplink) {
            errors.push(Error::new_spanned(
                meta,
                "`network` and `uplink` can't be combined: `uplink` builds the test's network \
                 itself; describe the gateway in your topology instead (see \
                 `netns_test::network::uplink`)",
            ));
        }
        errors.finish()
    }

    fn set_flag(&mut self, key: Key, on: bool) {
        match key {
            Key::Loopback => self.loopback = on,
            Key::Uplink => self.uplink = on,
            Key::Capture => self.capture = on,
            _ => {}
        }
    }

    fn set(&mut self, meta: Meta, seen: &mut Vec<Key>) -> syn::Result<()> {
        let path = meta.path();
        let key = KEYS
            .into_iter()
            .find(|key| path.is_ident(key.name()))
            .ok_or_else(|| {
                let valid = KEYS.map(|key| format!("`{}`", key.name())).join(", ");
                Error::new_spanned(
                    path,
                    format!(
                        "unknown option `{}`; the options are {valid}",
                        path_to_string(path)
                    ),
                )
            })?;
        if seen.contains(&key) {
            return Err(Error::new_spanned(
                path,
                format!("`{}` is given more than once", key.name()),
            ));
        }
        seen.push(key);
        if matches!(key, Key::Uplink | Key::Network) {
            self.network_option = Some(meta.clone());
        }

        let value = match &meta {
            // A flag: `uplink` alone means `uplink = true`.
            Meta::Path(_) if key.is_flag() => {
                self.set_flag(key, true);
                return Ok(());
            }
            Meta::NameValue(name_value) => strip_group(&name_value.value),
            Meta::Path(_) | Meta::List(_) => {
                let what = if key.is_flag() {
                    "is a flag"
                } else {
                    "takes a value"
                };
                return Err(Error::new_spanned(
                    &meta,
                    format!("`{}` {what}: write {}", key.name(), key.example()),
                ));
            }
        };
        match key {
            Key::Loopback | Key::Uplink | Key::Capture => match value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Bool(b), ..
                }) => self.set_flag(key, b.value),
                _ if key == Key::Capture => {
                    return Err(Error::new_spanned(
                        value,
                        "expected `true` or `false`; which captures are kept is for the \
                         environment: NETNS_TEST_CAPTURE=on-failure (the default) or `always`",
                    ));
                }
                _ => return Err(Error::new_spanned(value, "expected `true` or `false`")),
            },
            Key::Network => {
                let path = plain_path(value).ok_or_else(|| {
                    Error::new_spanned(
                        value,
                        "expected the path of a `fn() -> NetworkBuilder`, like \
                         `network = topologies::office`",
                    )
                })?;
                self.network = Some((path, meta));
            }
            Key::Node => {
                let name = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(name),
                        ..
                    }) if !name.value().is_empty() => name.clone(),
                    _ => {
                        return Err(Error::new_spanned(
                            value,
                            "expected a node's name, like `node = \"client\"`",
                        ));
                    }
                };
                self.node = Some((name, meta));
            }
            Key::Timeout => {
                let invalid = || {
                    Error::new_spanned(
                        value,
                        "expected a time limit: a whole number and a unit, as a string: \
                         `timeout = \"500ms\"`, `\"5s\"` or `\"2m\"`",
                    )
                };
                let Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) = value
                else {
                    return Err(invalid());
                };
                self.timeout_ms = Some(parse_millis(&text.value()).ok_or_else(invalid)?);
            }
            Key::Crate => self.krate = parse_crate(value)?,
            Key::Flavor => {
                let name = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(s), ..
                    }) => match s.value().as_str() {
                        "current_thread" => FlavorName::CurrentThread,
                        "multi_thread" => FlavorName::MultiThread,
                        other => {
                            return Err(Error::new_spanned(
                                s,
                                format!(
                                    "unknown flavor `{other}`; expected \"current_thread\" or \"multi_thread\""
                                ),
                            ));
                        }
                    },
                    _ => {
                        return Err(Error::new_spanned(
                            value,
                            "expected \"current_thread\" or \"multi_thread\"",
                        ));
                    }
                };
                self.flavor = Some((name, meta));
            }
            Key::WorkerThreads => {
                let n = match value {
                    // syn reads `-1` as one negative literal.
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(int), ..
                    }) if !int.base10_digits().starts_with('-') => {
                        let n = int.base10_parse::<usize>()?;
                        if n == 0 {
                            return Err(Error::new_spanned(
                                int,
                                "`worker_threads` must be at least 1",
                            ));
                        }
                        n
                    }
                    _ => {
                        return Err(Error::new_spanned(
                            value,
                            "expected a positive integer, like `worker_threads = 2`",
                        ));
                    }
                };
                self.worker_threads = Some((n, meta));
            }
        }
        Ok(())
    }

    /// The runtime for the test: `None` for a sync fn, and an error if a
    /// sync fn was given runtime options or the options contradict.
    ///
    /// `worker_threads` without `flavor` means `multi_thread`, since a
    /// worker count only makes sense there.
    pub(crate) fn flavor(&self, is_async: bool) -> syn::Result<Option<Flavor>> {
        if !is_async {
            let mut errors = Errors::default();
            let given = [
                self.flavor.as_ref().map(|(_, meta)| meta),
                self.worker_threads.as_ref().map(|(_, meta)| meta),
            ];
            for meta in given.into_iter().flatten() {
                errors.push(Error::new_spanned(
                    meta,
                    format!(
                        "`{}` only applies to an `async fn` test",
                        path_to_string(meta.path())
                    ),
                ));
            }
            errors.finish()?;
            return Ok(None);
        }
        let worker_threads = self.worker_threads.as_ref().map(|(n, _)| *n);
        match (&self.flavor, &self.worker_threads) {
            (Some((FlavorName::CurrentThread, _)), Some((_, meta))) => Err(Error::new_spanned(
                meta,
                "`worker_threads` needs `flavor = \"multi_thread\"`; a current_thread runtime has no worker threads",
            )),
            (Some((FlavorName::CurrentThread, _)) | None, None) => Ok(Some(Flavor::CurrentThread)),
            (Some((FlavorName::MultiThread, _)), _) | (None, Some(_)) => {
                Ok(Some(Flavor::MultiThread { worker_threads }))
            }
        }
    }
}

const NOT_A_PATH: &str = "expected a path to netns-test, like `crate = my_crate::netns_test` or `crate = \"my_crate::netns_test\"`";

/// `crate = a::b` or, like tokio's option, `crate = "a::b"`.
fn parse_crate(value: &Expr) -> syn::Result<Path> {
    let path = match (plain_path(value), value) {
        (Some(path), _) => path,
        (
            None,
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }),
        ) => s
            .parse_with(Path::parse_mod_style)
            .map_err(|_| Error::new_spanned(s, NOT_A_PATH))?,
        _ => return Err(Error::new_spanned(value, NOT_A_PATH)),
    };
    if let Some(segment) = path.segments.iter().find(|s| !s.arguments.is_none()) {
        return Err(Error::new_spanned(
            &segment.arguments,
            "the path to netns-test can't have generic arguments",
        ));
    }
    Ok(path)
}

/// `500ms`, `5s`, `2m` in milliseconds: a whole number and a unit, more
/// than zero (as netns-test reads `NETNS_TEST_TIMEOUT`).
fn parse_millis(text: &str) -> Option<u64> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let number: u64 = number.parse().ok()?;
    let millis = match unit {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        _ => return None,
    };
    (millis > 0).then_some(millis)
}

/// `a::b` written as an expression (no `<T as Trait>::`, no attributes).
fn plain_path(value: &Expr) -> Option<Path> {
    match value {
        Expr::Path(expr) if expr.qself.is_none() && expr.attrs.is_empty() => {
            Some(expr.path.clone())
        }
        _ => None,
    }
}

/// Looks through the invisible group a `macro_rules!` `$value:expr` makes.
fn strip_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => strip_group(&group.expr),
        other => other,
    }
}

pub(crate) fn path_to_string(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let prefix = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{prefix}{}", segments.join("::"))
}
