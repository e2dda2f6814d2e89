//! A minimal view of response headers for the pure policy code.

/// Looks up a response header by name, in any case.
pub trait Headers {
    /// The first value of header `name`.
    fn header(&self, name: &str) -> Option<&str>;

    /// Every header, as sent.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.as_slice().pairs()
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.as_slice().pairs()
    }
}
