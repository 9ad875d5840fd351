/// What a Redis test server holds, read over plain text (no TLS), for tests that check what the
/// store keeps (a key's time to live, what is gone).
extension StoreServerProcess {
    /// The keys matching `pattern` (`KEYS`, fine for a test server) and each one's `TTL` in
    /// seconds (-1: none, the key lives forever).
    public func redisTTLs(matching pattern: String = "*") async throws -> [String: Int] {
        let keysReply = try await LineProbe.exchange(host: "127.0.0.1", port: port, send: "KEYS \(pattern)\r\nPING\r\n", until: "+PONG\r\n")
        let keys = keysReply.split(separator: "\r\n").filter { !$0.hasPrefix("*") && !$0.hasPrefix("$") && !$0.hasPrefix("+") }.map(String.init)
        var ttls: [String: Int] = [:]
        for key in keys {
            let reply = try await LineProbe.exchange(host: "127.0.0.1", port: port, send: "TTL \(key)\r\nPING\r\n", until: "+PONG\r\n")
            if let line = reply.split(separator: "\r\n").first, line.hasPrefix(":"), let ttl = Int(line.dropFirst()) {
                ttls[key] = ttl
            }
        }
        return ttls
    }
}
