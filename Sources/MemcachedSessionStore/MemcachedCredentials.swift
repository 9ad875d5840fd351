/// A login for memcached's text-protocol authentication (`memcached -Y <authfile>`, 1.5.15 and
/// newer; msm's `username` and `password`): sent on every new connection before any command, so
/// that a memcached reachable by others (over TLS, on a shared network) serves only this app.
public struct MemcachedCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The user name (no spaces).
    public var username: String
    /// The password; never printed.
    public var password: String

    /// Creates a login.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "\(username):***" }
}
