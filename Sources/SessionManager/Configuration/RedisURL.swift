/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`, or
/// `rediss://…` for the same over TLS (default port 6379 either way: managed services often
/// listen for TLS on 6380, so give the port).
///
/// The password is kept for AUTH but never printed: ``description`` masks it.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// ACL user name (Redis ≥ 6), if any.
    public var user: String?
    /// Password for AUTH, if any.
    public var password: String?
    /// Host name or IPv4 address.
    public var host: String
    /// TCP port. Default 6379.
    public var port: Int
    /// Database number for SELECT. Default 0.
    public var database: Int
    /// Whether the connection uses TLS (`rediss://`). Default `false`.
    public var tls: Bool

    /// Creates a URL value.
    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil, tls: Bool = false) {
        self.tls = tls
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses `redis://…` or `rediss://…`; throws a message saying what is wrong.
    public init(parsing text: String) throws {
        let form = "redis[s]://[[user]:password@]host[:port][/db]"
        var parts = try RedisURLParts(text, scheme: "redis", form: form)
        var database = 0
        if let slash = parts.rest.firstIndex(of: "/") {
            database = try RedisURLParts.database(parts.rest[parts.rest.index(after: slash)...])
            parts.rest = parts.rest[..<slash]
        }
        let address = try RedisURLParts.address(parts.rest, defaultPort: 6379, form: form)
        self.init(host: address.host, port: address.port, database: database, user: parts.user, password: parts.password, tls: parts.tls)
    }

    public var description: String {
        RedisURLParts.describe(scheme: "redis", tls: tls, user: user, password: password) + "\(host):\(port)" + (database != 0 ? "/\(database)" : "")
    }
}

/// A Redis host and port.
public struct RedisAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IPv4 address.
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// The parts every Redis URL form shares: the scheme (`redis…` or its TLS form `rediss…`),
/// `[[user]:password@]`, and what follows.
struct RedisURLParts {
    var user: String?
    var password: String?
    var rest: Substring
    /// The scheme was the TLS form.
    var tls: Bool

    /// `scheme` is the plaintext form (`redis`, `redis-cluster`); its TLS form, with `rediss`, is accepted too.
    init(_ text: String, scheme: String, form: String) throws {
        let prefix = scheme + "://"
        let tlsPrefix = Self.tlsScheme(scheme) + "://"
        if text.hasPrefix(prefix) {
            tls = false
            rest = Substring(text.dropFirst(prefix.count))
        } else if text.hasPrefix(tlsPrefix) {
            tls = true
            rest = Substring(text.dropFirst(tlsPrefix.count))
        } else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)' does not start with \(prefix) or \(tlsPrefix); expected \(form)")
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                self.user = user.isEmpty ? nil : try Self.decode(user)
                self.password = try Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                // scheme://password@host is common shorthand; treat a lone part as the password.
                self.password = try Self.decode(credentials)
            }
        }
    }

    /// `host[:port]`.
    static func address(_ text: Substring, defaultPort: Int?, form: String) throws -> RedisAddress {
        var host = text
        var port = defaultPort
        if let colon = text.lastIndex(of: ":") {
            let digits = text[text.index(after: colon)...]
            guard let number = Int(digits), (1...65_535).contains(number) else {
                throw SessionManagerError(.invalidConfiguration, "port '\(digits)' in '\(text)' must be 1-65535")
            }
            port = number
            host = text[..<colon]
        }
        guard let port else { throw SessionManagerError(.invalidConfiguration, "'\(text)' needs a port; expected \(form)") }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "+") }) else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)' has no valid host; expected \(form)")
        }
        return RedisAddress(host: String(host), port: port)
    }

    /// `host:port[+host:port…]`: a cluster's seed nodes or the sentinels.
    static func addresses(_ text: Substring, form: String) throws -> [RedisAddress] {
        let entries = text.split(separator: "+", omittingEmptySubsequences: false)
        guard !text.isEmpty, entries.allSatisfy({ !$0.isEmpty }) else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)' needs host:port entries separated by '+'; expected \(form)")
        }
        let addresses = try entries.map { try address($0, defaultPort: nil, form: form) }
        guard Set(addresses).count == addresses.count else {
            throw SessionManagerError(.invalidConfiguration, "'\(text)' names an address twice")
        }
        return addresses
    }

    /// A database number, 0-65535; empty is 0.
    static func database(_ text: Substring) throws -> Int {
        guard !text.isEmpty else { return 0 }
        guard let number = Int(text), (0...65_535).contains(number) else {
            throw SessionManagerError(.invalidConfiguration, "Redis database '\(text)' must be a number 0-65535")
        }
        return number
    }

    /// The TLS form of a scheme: `redis` → `rediss`, `redis-cluster` → `rediss-cluster`.
    static func tlsScheme(_ scheme: String) -> String {
        "rediss" + scheme.dropFirst("redis".count)
    }

    /// `scheme://` (its TLS form if `tls`) with the user and a masked password.
    static func describe(scheme: String, tls: Bool, user: String?, password: String?) -> String {
        var text = (tls ? tlsScheme(scheme) : scheme) + "://"
        if user != nil || password != nil { text += "\(user ?? ""):\(password == nil ? "" : "***")@" }
        return text
    }

    /// Percent-decoding for user and password (so they may contain `@`, `:` or `/`).
    private static func decode(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw SessionManagerError(.invalidConfiguration, "bad percent-escape in Redis URL credentials")
            }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
