import SessionManager
import SessionStoreNIO

/// Which master serves which of Redis Cluster's 16384 hash slots, read from `CLUSTER SLOTS`.
///
/// A value: the cluster router swaps in a new map when the topology changes (a `MOVED`, a refresh),
/// and a command reads the map it found, without a lock held while it is sent.
struct RedisSlotMap: Sendable, Equatable {
    /// Number of hash slots in Redis Cluster.
    static let slotCount = 16_384
    private static let unassigned = UInt16.max

    /// The masters, in the order first seen.
    private(set) var masters: [RedisAddress]
    /// Per slot, the index of its master in ``masters`` (``unassigned`` for none).
    private var owners: [UInt16]

    /// An empty map: every slot unassigned.
    init() {
        masters = []
        owners = Array(repeating: Self.unassigned, count: Self.slotCount)
    }

    /// The master serving `slot`, if the map knows one.
    func master(of slot: Int) -> RedisAddress? {
        masterIndex(of: slot).map { masters[$0] }
    }

    /// The index in ``masters`` of the master serving `slot`, if the map knows one.
    func masterIndex(of slot: Int) -> Int? {
        let owner = owners[slot]
        return owner == Self.unassigned ? nil : Int(owner)
    }

    /// Whether every slot has a master.
    var coversAllSlots: Bool { !owners.contains(Self.unassigned) }

    /// Records that `slot` is now served by `master` (a `MOVED` reply says so before a refresh does).
    mutating func assign(_ slot: Int, to master: RedisAddress) {
        owners[slot] = index(of: master)
    }

    private mutating func index(of master: RedisAddress) -> UInt16 {
        if let index = masters.firstIndex(of: master) { return UInt16(index) }
        masters.append(master)
        return UInt16(masters.count - 1)
    }

    /// Reads a `CLUSTER SLOTS` reply: `[[start, end, [ip, port, id, …], replica…], …]`. An empty
    /// ip means the node that answered (it does not know its own address): `asked` is used.
    /// - Throws: a message for a reply of another shape.
    init(clusterSlots reply: RedisValue, asked: RedisAddress) throws {
        self.init()
        guard case .array(let ranges) = reply else { throw Self.malformed(reply) }
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3,
                case .integer(let start) = fields[0], case .integer(let end) = fields[1],
                (0..<Self.slotCount).contains(start), (start..<Self.slotCount).contains(end),
                case .array(let master) = fields[2], master.count >= 2,
                case .bulk(let ip) = master[0], case .integer(let port) = master[1], (1...65_535).contains(port)
            else { throw Self.malformed(range) }
            let host = ip.isEmpty ? asked.host : String(decoding: ip, as: UTF8.self)
            let owner = index(of: RedisAddress(host: host, port: port))
            for slot in start...end { owners[slot] = owner }
        }
    }

    private static func malformed(_ value: RedisValue) -> StoreClientError {
        StoreClientError(.protocolError, "CLUSTER SLOTS answered with an unexpected shape: \(value)")
    }

    /// The hash slot of a key: CRC16 (XMODEM) of its hash tag (the text between the first `{` and
    /// the next `}`, when not empty) or of the whole key, modulo 16384.
    static func slot(of key: String) -> Int {
        var utf8 = Substring(key).utf8
        if let open = utf8.firstIndex(of: UInt8(ascii: "{")) {
            let rest = utf8[utf8.index(after: open)...]
            if let close = rest.firstIndex(of: UInt8(ascii: "}")), close != rest.startIndex {
                utf8 = rest[..<close]
            }
        }
        var crc: UInt16 = 0
        for byte in utf8 {
            crc = (crc << 8) ^ crc16Table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return Int(crc) & (slotCount - 1)
    }

    /// CRC16-CCITT (XMODEM, polynomial 0x1021), as Redis Cluster's key hashing specifies.
    private static let crc16Table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

/// A reply that redirects a command in a Redis Cluster.
enum RedisRedirect: Equatable {
    /// The slot lives on `address` now: update the map and resend there.
    case moved(slot: Int, to: RedisAddress)
    /// The slot is being migrated and this key is on `address`: resend there once, after `ASKING`.
    case ask(slot: Int, to: RedisAddress)
    /// The keys of a multi-key command are split by a migration: retry shortly.
    case tryAgain
    /// The cluster cannot serve the slot (no master): refresh and fail.
    case clusterDown

    /// The redirect a reply carries, or `nil` for any other reply.
    init?(_ reply: RedisValue) {
        guard case .error(let message) = reply else { return nil }
        if message.hasPrefix("TRYAGAIN") {
            self = .tryAgain
            return
        }
        if message.hasPrefix("CLUSTERDOWN") {
            self = .clusterDown
            return
        }
        let words = message.split(separator: " ")
        guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK", let slot = Int(words[1]),
            let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...])
        else { return nil }
        let address = RedisAddress(host: String(words[2][..<colon]), port: port)
        self = words[0] == "MOVED" ? .moved(slot: slot, to: address) : .ask(slot: slot, to: address)
    }
}
