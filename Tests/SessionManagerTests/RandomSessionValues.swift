import Foundation
import SessionTesting

@testable import SessionManager

/// Random `SessionValue` trees covering every case and the awkward values of each.
struct RandomSessionValues {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func snapshot() -> SessionSnapshot {
        var attributes: [String: SessionValue] = [:]
        for _ in 0..<Int.random(in: 0...12, using: &rng) { attributes[key()] = value(depth: 0) }
        return SessionSnapshot(
            id: String((0..<32).map { _ in "0123456789ABCDEF".randomElement(using: &rng)! }) + ".node1",
            creationTime: date(),
            lastAccessedTime: date(),
            maxInactiveInterval: Int.random(in: -1...100_000, using: &rng),
            attributes: attributes
        )
    }

    mutating func key() -> String {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return "$" + string()  // looks like a JSON tag
        case 1: return "$$" + string()
        case 2: return ""
        default: return string()
        }
    }

    mutating func string() -> String {
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0x00...0x1F, 0xA0...0x2FF, 0x1F300...0x1F64F, 0x4E00...0x4E80, 0x300...0x36F]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...16, using: &rng) {
            let pool = pools.randomElement(using: &rng)!
            if let scalar = Unicode.Scalar(UInt32.random(in: pool, using: &rng)) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .nan
        case 1: return .infinity
        case 2: return -.infinity
        case 3: return -0.0
        case 4: return .leastNonzeroMagnitude
        case 5: return .greatestFiniteMagnitude
        case 6: return Double(Int.random(in: -1000...1000, using: &rng))  // integral: must stay a double
        default: return Double(bitPattern: rng.next())
        }
    }

    mutating func date() -> Date {
        Date(timeIntervalSinceReferenceDate: Double.random(in: -2e9...2e9, using: &rng) + Double.random(in: 0..<1, using: &rng))
    }

    mutating func value(depth: Int) -> SessionValue {
        let maxCase = depth < 4 ? 11 : 9
        switch Int.random(in: 0..<maxCase, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int([Int.min, Int.max, 0, -1, Int.random(in: .min ... .max, using: &rng)].randomElement(using: &rng)!)
        case 3, 4: return .double(double())
        case 5: return .string(string())
        case 6: return .bytes((0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case 7: return .date(date())
        case 8: return .string(["", "null", "true", "1", "1.0", "{\"$date\":1}", "\\u0000"].randomElement(using: &rng)!)
        case 9: return .array((0..<Int.random(in: 0...5, using: &rng)).map { _ in value(depth: depth + 1) })
        default:
            var map: [String: SessionValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &rng) { map[key()] = value(depth: depth + 1) }
            return .map(map)
        }
    }
}

/// Equality where NaN equals NaN and -0.0 differs from 0.0: what "round-trips exactly" means.
func exactlyEqual(_ a: SessionValue, _ b: SessionValue) -> Bool {
    switch (a, b) {
    case (.double(let x), .double(let y)): return x.isNaN ? y.isNaN : x.bitPattern == y.bitPattern
    case (.date(let x), .date(let y)):
        return x.timeIntervalSinceReferenceDate.bitPattern == y.timeIntervalSinceReferenceDate.bitPattern
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(exactlyEqual)
    case (.map(let x), .map(let y)): return exactlyEqual(x, y)
    default: return a == b
    }
}

func exactlyEqual(_ a: [String: SessionValue], _ b: [String: SessionValue]) -> Bool {
    a.count == b.count && a.allSatisfy { key, value in b[key].map { exactlyEqual(value, $0) } ?? false }
}

func exactlyEqual(_ a: SessionSnapshot, _ b: SessionSnapshot) -> Bool {
    a.id == b.id && a.maxInactiveInterval == b.maxInactiveInterval
        && a.creationTime.timeIntervalSinceReferenceDate.bitPattern == b.creationTime.timeIntervalSinceReferenceDate.bitPattern
        && a.lastAccessedTime.timeIntervalSinceReferenceDate.bitPattern == b.lastAccessedTime.timeIntervalSinceReferenceDate.bitPattern
        && exactlyEqual(a.attributes, b.attributes)
}
