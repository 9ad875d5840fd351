/// A session id in msm's format: `<random>[-<nodeID>][.<jvmRoute>]`.
///
/// - `random`: 32 upper-case hex characters (128 bits from the system CSPRNG, see ``SessionIDGenerator``).
/// - `nodeID`: the store node holding the primary copy (`[A-Za-z0-9_]{1,32}`), used by clustered stores.
/// - `jvmRoute`: the app node that created or last took over the session (`[A-Za-z0-9_-]{1,64}`), for
///   sticky load balancers.
///
/// Parsing is strict and allocation-free until it succeeds, because the input is a cookie value
/// chosen by the client: anything that does not match exactly is rejected before it reaches a store.
public struct SessionID: Sendable, Hashable, CustomStringConvertible {
    /// Number of characters of the random part.
    public static let randomLength = 32
    /// Longest node id accepted.
    public static let maximumNodeIDLength = 32
    /// Longest jvmRoute accepted.
    public static let maximumJvmRouteLength = 64
    /// Longest complete id accepted; anything longer is rejected without further inspection.
    public static let maximumLength = randomLength + 1 + maximumNodeIDLength + 1 + maximumJvmRouteLength

    /// The id as sent in the cookie.
    ///
    /// The only stored string: ids are copied on every request (registry keys, store keys, the
    /// request's bookkeeping), so the parts are kept as offsets into it rather than as strings of
    /// their own, which makes a copy one reference count instead of four.
    public let description: String
    /// UTF-8 offset where the node id starts (0: none).
    private let nodeStart: UInt8
    /// UTF-8 offset where the jvmRoute starts (0: none).
    private let routeStart: UInt8
    /// The random part as a key, parsed once here: active sessions are looked up by it several
    /// times per request (see ``SessionRandomKey``).
    let randomKey: SessionRandomKey

    /// The random part (32 upper-case hex characters).
    public var random: String { String(part(0, Self.randomLength)) }
    /// The store node id, if the store encodes one.
    public var nodeID: String? {
        guard nodeStart > 0 else { return nil }
        let end = routeStart > 0 ? Int(routeStart) - 1 : description.utf8.count
        return String(part(Int(nodeStart), end))
    }
    /// The app node's route, if the engine has a `jvmRoute`.
    public var jvmRoute: String? {
        routeStart > 0 ? String(part(Int(routeStart), description.utf8.count)) : nil
    }

    private func part(_ start: Int, _ end: Int) -> Substring {
        let utf8 = description.utf8
        return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)])
    }

    public static func == (lhs: SessionID, rhs: SessionID) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Builds an id from validated parts.
    /// - Precondition: the parts match the format; ids from outside go through ``init(parsing:)``.
    public init(random: String, nodeID: String? = nil, jvmRoute: String? = nil) {
        precondition(Self.isRandomPart(random.utf8), "invalid random part")
        precondition(nodeID.map { Self.isNodeID($0.utf8) } ?? true, "invalid node id")
        precondition(jvmRoute.map { Self.isJvmRoute($0.utf8) } ?? true, "invalid jvmRoute")
        var text = random
        var nodeStart: UInt8 = 0
        var routeStart: UInt8 = 0
        if let nodeID {
            nodeStart = UInt8(text.utf8.count + 1)
            text += "-" + nodeID
        }
        if let jvmRoute {
            routeStart = UInt8(text.utf8.count + 1)
            text += "." + jvmRoute
        }
        self.description = text
        self.nodeStart = nodeStart
        self.routeStart = routeStart
        self.randomKey = SessionRandomKey(hex: random.utf8)
    }

    /// Parses an id received from a client; `nil` unless it matches the format exactly.
    public init?(parsing text: String) {
        var text = text
        guard let id = text.withUTF8({ Self(utf8: $0) }) else { return nil }
        self = id
    }

    /// Parses an id received from a client; `nil` unless it matches the format exactly.
    public init?(parsing text: Substring) {
        var text = text
        guard let id = text.withUTF8({ Self(utf8: $0) }) else { return nil }
        self = id
    }

    /// Parses an id from UTF-8 bytes, such as a slice of a `Cookie` header, without copying first.
    ///
    /// Not generic on purpose: it runs for every request, across a module boundary, where a
    /// generic version would not be specialised.
    public init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        let count = bytes.count
        guard count >= Self.randomLength, count <= Self.maximumLength else { return nil }
        for i in 0..<Self.randomLength where !Self.isUpperHex(bytes[i]) { return nil }
        var index = Self.randomLength
        var nodeRange: Range<Int>?
        var routeRange: Range<Int>?
        if index < count, bytes[index] == UInt8(ascii: "-") {
            let start = index + 1
            index = start
            while index < count, bytes[index] != UInt8(ascii: ".") {
                guard Self.isWordByte(bytes[index]) else { return nil }
                index += 1
            }
            guard index > start, index - start <= Self.maximumNodeIDLength else { return nil }
            nodeRange = start..<index
        }
        if index < count, bytes[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < count {
                guard Self.isWordByte(bytes[index]) || bytes[index] == UInt8(ascii: "-") else { return nil }
                index += 1
            }
            guard index > start, index - start <= Self.maximumJvmRouteLength else { return nil }
            routeRange = start..<index
        }
        guard index == count else { return nil }
        self.nodeStart = UInt8(nodeRange?.lowerBound ?? 0)
        self.routeStart = UInt8(routeRange?.lowerBound ?? 0)
        self.randomKey = SessionRandomKey(hex: bytes[0..<Self.randomLength])
        self.description = String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the id ends with the route `route` (compared in place: this runs for every request
    /// of a sticky context).
    func hasJvmRoute(_ route: String) -> Bool {
        guard routeStart > 0 else { return false }
        return description.utf8.dropFirst(Int(routeStart)).elementsEqual(route.utf8)
    }

    /// The same session with another jvmRoute (Tomcat failover) or none.
    public func withJvmRoute(_ route: String?) -> SessionID {
        SessionID(random: random, nodeID: nodeID, jvmRoute: route)
    }

    /// The same session on another store node (relocation after a node failure).
    public func withNodeID(_ node: String?) -> SessionID {
        SessionID(random: random, nodeID: node, jvmRoute: jvmRoute)
    }

    /// A short, non-reversible tag for logs: a session id is a bearer credential and is never logged whole.
    public var logTag: String {
        var hasher = FNV1a()
        for byte in description.utf8 { hasher.combine(byte) }
        return String(hasher.value & 0xFFFF_FFFF, radix: 16)
    }

    static func isRandomPart(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.count == randomLength && bytes.allSatisfy(isUpperHex)
    }

    private static func isUpperHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    /// Whether `text` is a valid node id (used to validate configuration as well as ids).
    public static func isNodeID(_ text: some Collection<UInt8>) -> Bool {
        !text.isEmpty && text.count <= maximumNodeIDLength && text.allSatisfy(isWordByte)
    }

    /// Whether `text` is a valid jvmRoute (used to validate configuration as well as ids).
    public static func isJvmRoute(_ text: some Collection<UInt8>) -> Bool {
        !text.isEmpty && text.count <= maximumJvmRouteLength && text.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

/// 64-bit FNV-1a; only for log tags, never for security.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
}
