/// One command of the memcached text protocol, as the peer endpoint reads it: exactly the subset
/// the memcached store sends (see `MemcachedCommand`), the `stats` and `mg … t` its tests read,
/// and what memcached answers to anything else.
enum PeerCommand: Equatable, Sendable {
    /// `get <key>` (`touch`: `nil`) or `gat <exptime> <key>`.
    case get(key: String, touch: Int?)
    /// `set`/`add <key> <flags> <exptime> <bytes>` and the data.
    case store(Verb, key: String, exptime: Int, value: [UInt8])
    /// `delete <key>`.
    case delete(key: String)
    /// `touch <key> <exptime>`.
    case touch(key: String, exptime: Int)
    /// `version`.
    case version
    /// `stats`.
    case stats
    /// `ms <key> <bytes> <flags>*` and the data; `mg <key> <flags>*`; `md <key> <flags>*`. Flags as
    /// memcached writes them: a letter, then its token (`T30`, `C12`, `ME`, `c`, `v`).
    case metaSet(key: String, value: [UInt8], flags: [String])
    case metaGet(key: String, flags: [String])
    case metaDelete(key: String, flags: [String])
    /// A command the endpoint does not implement: `ERROR`, as memcached answers an unknown one.
    case unknown(String)
    /// A malformed command: `CLIENT_ERROR <message>`.
    case malformed(String)

    enum Verb: String, Sendable {
        case set, add
    }
}

/// Reads whole commands off the front of a connection's bytes: a command may arrive split at any
/// byte, and one read may carry several (pipelining). Pure, so every split can be tested.
enum PeerCommandParser {
    /// Longest command line accepted, CRLF included (memcached's key limit is 250 bytes).
    static let maximumLineLength = 2048

    /// The first whole command in `bytes` and how many bytes it took; `nil` when it is not
    /// complete yet. A line longer than ``maximumLineLength`` or data larger than `maximumValue`
    /// is answered as malformed (the caller closes the connection after answering).
    static func parse(_ bytes: UnsafeRawBufferPointer, maximumValue: Int) -> (PeerCommand, consumed: Int)? {
        guard let lineEnd = crlf(in: bytes) else {
            return bytes.count >= maximumLineLength ? (.malformed("line too long"), bytes.count) : nil
        }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<lineEnd]), as: UTF8.self)
        let lineLength = lineEnd + 2
        let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = fields.first else { return (.unknown(""), lineLength) }
        func withData(_ length: Int, _ make: ([UInt8]) -> PeerCommand) -> (PeerCommand, consumed: Int)? {
            guard length >= 0, length <= maximumValue else { return (.malformed("object too large for cache"), bytes.count) }
            let total = lineLength + length + 2
            guard bytes.count >= total else { return nil }
            guard bytes[total - 2] == UInt8(ascii: "\r"), bytes[total - 1] == UInt8(ascii: "\n") else {
                return (.malformed("bad data chunk"), total)
            }
            return (make(Array(bytes[lineLength..<(lineLength + length)])), total)
        }
        switch name {
        case "get" where fields.count == 2:
            return (.get(key: fields[1], touch: nil), lineLength)
        case "gat" where fields.count == 3:
            guard let exptime = Int(fields[1]) else { return (.malformed("bad command line format"), lineLength) }
            return (.get(key: fields[2], touch: exptime), lineLength)
        case "set", "add":
            guard fields.count == 5, UInt32(fields[2]) != nil, let exptime = Int(fields[3]), let length = Int(fields[4]) else {
                return (.malformed("bad command line format"), lineLength)
            }
            let verb = PeerCommand.Verb(rawValue: name) ?? .set
            return withData(length) { .store(verb, key: fields[1], exptime: exptime, value: $0) }
        case "delete" where fields.count == 2:
            return (.delete(key: fields[1]), lineLength)
        case "touch" where fields.count == 3:
            guard let exptime = Int(fields[2]) else { return (.malformed("bad command line format"), lineLength) }
            return (.touch(key: fields[1], exptime: exptime), lineLength)
        case "version" where fields.count == 1:
            return (.version, lineLength)
        case "stats" where fields.count == 1:
            return (.stats, lineLength)
        case "ms":
            guard fields.count >= 3, let length = Int(fields[2]) else { return (.malformed("bad command line format"), lineLength) }
            return withData(length) { .metaSet(key: fields[1], value: $0, flags: Array(fields.dropFirst(3))) }
        case "mg" where fields.count >= 2:
            return (.metaGet(key: fields[1], flags: Array(fields.dropFirst(2))), lineLength)
        case "md" where fields.count >= 2:
            return (.metaDelete(key: fields[1], flags: Array(fields.dropFirst(2))), lineLength)
        default:
            return (.unknown(name), lineLength)
        }
    }

    private static func crlf(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 0..<(bytes.count - 1) where bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n") {
            return index
        }
        return nil
    }
}
