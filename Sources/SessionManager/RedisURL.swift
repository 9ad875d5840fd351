/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
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

    /// Creates a URL value.
    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses `redis://…`; throws a message saying what is wrong.
    public init(parsing text: String) throws {
        guard text.hasPrefix("redis://") else { throw SessionManagerError(.invalidConfiguration, "a Redis URL starts with redis://") }
        var rest = Substring(text.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                self.user = user.isEmpty ? nil : try Self.decode(user)
                self.password = try Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                // redis://password@host is common shorthand; treat a lone part as the password.
                self.password = try Self.decode(credentials)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let number = Int(db), (0...65_535).contains(number) else {
                    throw SessionManagerError(.invalidConfiguration, "Redis database '\(db)' must be a number 0-65535")
                }
                database = number
            }
        }
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(number) else {
                throw SessionManagerError(.invalidConfiguration, "Redis port '\(rest[rest.index(after: colon)...])' must be 1-65535")
            }
            port = number
            rest = rest[..<colon]
        }
        guard !rest.isEmpty, rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw SessionManagerError(.invalidConfiguration, "Redis URL needs a host: redis://[[user]:password@]host[:port][/db]")
        }
        self.host = String(rest)
        self.port = port
        self.database = database
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

    public var description: String {
        var text = "redis://"
        if user != nil || password != nil { text += "\(user ?? ""):\(password == nil ? "" : "***")@" }
        text += "\(host):\(port)"
        if database != 0 { text += "/\(database)" }
        return text
    }
}
