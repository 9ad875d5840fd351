// Micro-benchmark of the session transcoders: encode and decode of three sessions with each
// transcoder, and JSONEncoder/JSONDecoder over an equivalent Codable struct as the baseline.
// Prints ns per operation (median of 5 rounds) and encoded sizes.
//   swift run -c release TranscoderBench
import Foundation
import SessionManager

// MARK: the sessions

let created = Date(timeIntervalSinceReferenceDate: 785_000_000.123_456)
let id = "0123456789ABCDEF0123456789ABCDEF.node1"

func snapshot(_ attributes: [String: SessionValue]) -> SessionSnapshot {
    SessionSnapshot(id: id, creationTime: created, lastAccessedTime: created, maxInactiveInterval: 1800, attributes: attributes)
}

/// Small: 3 attributes.
struct Small: Codable { var count: Int; var user: String; var loggedIn: Bool }
let small = Small(count: 42, user: "alice@example.org", loggedIn: true)
let smallSession = snapshot(["count": .int(small.count), "user": .string(small.user), "loggedIn": .bool(small.loggedIn)])

/// Typical: 20 attributes of mixed types and one nested map.
struct Typical: Codable {
    var userId: Int, userName: String, email: String, locale: String, timezone: String
    var loggedIn: Bool, admin: Bool, visits: Int, balance: Double, rating: Double
    var lastLogin: Date, expires: Date, csrfToken: Data, theme: String, itemsPerPage: Int
    var recentIds: [Int], tags: [String], cartTotal: Double, flash: String
    var preferences: [String: String]
}
let typical = Typical(
    userId: 1_234_567, userName: "alice", email: "alice@example.org", locale: "de_CH", timezone: "Europe/Zurich",
    loggedIn: true, admin: false, visits: 317, balance: 1234.56, rating: 4.75,
    lastLogin: created, expires: created.addingTimeInterval(3600), csrfToken: Data((0..<32).map { UInt8($0 * 7 & 0xFF) }),
    theme: "dark", itemsPerPage: 50, recentIds: [101, 2002, 30003, 400004, 5], tags: ["beta", "eu", "newsletter"],
    cartTotal: 99.9, flash: "Your order has been placed.",
    preferences: ["currency": "CHF", "units": "metric", "newsletter": "weekly", "layout": "compact"]
)
let typicalSession = snapshot([
    "userId": .int(typical.userId), "userName": .string(typical.userName), "email": .string(typical.email),
    "locale": .string(typical.locale), "timezone": .string(typical.timezone), "loggedIn": .bool(typical.loggedIn),
    "admin": .bool(typical.admin), "visits": .int(typical.visits), "balance": .double(typical.balance),
    "rating": .double(typical.rating), "lastLogin": .date(typical.lastLogin), "expires": .date(typical.expires),
    "csrfToken": .bytes(Array(typical.csrfToken)), "theme": .string(typical.theme), "itemsPerPage": .int(typical.itemsPerPage),
    "recentIds": .array(typical.recentIds.map { .int($0) }), "tags": .array(typical.tags.map { .string($0) }),
    "cartTotal": .double(typical.cartTotal), "flash": .string(typical.flash),
    "preferences": .map(typical.preferences.mapValues { .string($0) }),
])

/// Large: a 100 KB bytes value and a 1000-element array.
struct Large: Codable { var upload: Data; var history: [Int] }
let large = Large(upload: Data((0..<102_400).map { UInt8(truncatingIfNeeded: $0 &* 31) }), history: Array(0..<1000).map { $0 * 1009 })
let largeSession = snapshot(["upload": .bytes(Array(large.upload)), "history": .array(large.history.map { .int($0) })])

// MARK: measuring

nonisolated(unsafe) var sink = 0

/// Median ns per call of `body` over 5 rounds of at least 100 ms each.
func nanoseconds(_ body: () throws -> Int) rethrows -> Double {
    var iterations = 1
    while true {
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= try body() }
        if ContinuousClock.now - start > .milliseconds(100) { break }
        iterations *= 2
    }
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= try body() }
        let elapsed = ContinuousClock.now - start
        rounds.append((Double(elapsed.components.seconds) * 1e18 + Double(elapsed.components.attoseconds)) / 1e9 / Double(iterations))
    }
    return rounds.sorted()[2]
}

func row(_ session: String, _ name: String, size: Int, encode: Double, decode: Double, baseline: Double?) {
    let total = encode + decode
    let ratio = baseline.map { String(format: "%6.1f×", $0 / total) } ?? "      "
    print(
        session.padding(toLength: 9, withPad: " ", startingAt: 0) + name.padding(toLength: 13, withPad: " ", startingAt: 0)
            + String(format: "%9d %12.0f %12.0f %12.0f  %@", size, encode, decode, total, ratio)
    )
}

func bench<T: Codable>(_ label: String, _ session: SessionSnapshot, _ value: T) throws {
    let encoder = JSONEncoder()
    let decoder = JSONDecoder()
    let baselineBlob = try encoder.encode(value)
    let baselineEncode = try nanoseconds { try encoder.encode(value).count }
    let baselineDecode = try nanoseconds { _ = try decoder.decode(T.self, from: baselineBlob); return 1 }
    let baseline = baselineEncode + baselineDecode
    row(label, "JSONEncoder", size: baselineBlob.count, encode: baselineEncode, decode: baselineDecode, baseline: nil)
    for transcoder in [BinarySessionTranscoder(), JSONSessionTranscoder(), PropertyListSessionTranscoder()] as [any SessionTranscoder] {
        let blob = try transcoder.encode(session)
        let encode = try nanoseconds { try transcoder.encode(session).count }
        let decode = try nanoseconds { try transcoder.decode(blob).attributes.count }
        row(label, transcoder.name, size: blob.count, encode: encode, decode: decode, baseline: baseline)
    }
}

print("session  transcoder       bytes    encode ns    decode ns     total ns  JSONEncoder÷this")
try bench("small", smallSession, small)
try bench("typical", typicalSession, typical)
try bench("large", largeSession, large)
