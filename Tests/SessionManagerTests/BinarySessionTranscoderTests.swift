import Foundation
import SessionTesting
import Testing

@testable import SessionManager

@Suite(.capturedLog) struct BinarySessionTranscoderTests {
    let transcoder = BinarySessionTranscoder()

    static func sample() -> SessionSnapshot {
        SessionSnapshot(
            id: "0123456789ABCDEF0123456789ABCDEF.node1",
            creationTime: Date(timeIntervalSinceReferenceDate: 123_456.789_012),
            lastAccessedTime: Date(timeIntervalSinceReferenceDate: 123_999.5),
            maxInactiveInterval: 1800,
            attributes: [
                "count": 42, "name": "Zoë 🎉", "flag": true, "none": nil, "pi": 3.141_592_653_589_793,
                "min": .int(.min), "max": .int(.max), "bytes": .bytes(Array(0...255)),
                "when": .date(Date(timeIntervalSinceReferenceDate: 0.000_001)),
                "list": [1, "two", [3.0, .null], [:]], "nested": ["a": ["b": ["c": 1]]],
                "inf": .double(.infinity), "ninf": .double(-.infinity),
            ]
        )
    }

    @Test func roundTripsEveryValueKind() throws {
        let snapshot = Self.sample()
        let decoded = try transcoder.decode(try transcoder.encode(snapshot))
        #expect(decoded == snapshot)
    }

    @Test func nanRoundTripsAsNaN() throws {
        var snapshot = Self.sample()
        snapshot.attributes = ["nan": .double(.nan)]
        let decoded = try transcoder.decode(try transcoder.encode(snapshot))
        guard case .double(let value) = decoded.attributes["nan"] else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func equalSessionsGiveEqualBytes() throws {
        // Dictionaries iterate in a per-instance order; the encoder sorts keys.
        var a = Self.sample()
        var b = Self.sample()
        a.attributes = Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", SessionValue.int($0)) })
        b.attributes = [:]
        for i in (0..<50).reversed() { b.attributes["k\(i)"] = .int(i) }
        #expect(try transcoder.encode(a) == transcoder.encode(b))
    }

    @Test func everyTruncationIsATypedError() throws {
        let bytes = try transcoder.encode(Self.sample())
        for length in 0..<bytes.count {
            #expect(throws: TranscoderError.self) { try transcoder.decode(Array(bytes[0..<length])) }
        }
    }

    @Test func hostileLengthsAndNestingAreRejected() {
        var header: [UInt8] = BinarySessionTranscoder.magic + [BinarySessionTranscoder.version]
        header += [0]  // empty id
        header += Array(repeating: 0, count: 16)  // two dates
        header += [0]  // max inactive 0
        // Declares 2^63 attributes in 10 bytes.
        #expect(throws: TranscoderError.self) {
            try transcoder.decode(header + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        }
        // 10_000 nested arrays.
        let deep = header + [1, 1, UInt8(ascii: "a")] + Array(repeating: [8, 1], count: 10_000).flatMap { $0 } + [0]
        #expect(throws: TranscoderError.self) { try transcoder.decode(deep) }
        // Wrong magic (for example a JSON blob).
        #expect(throws: TranscoderError.self) { try transcoder.decode(Array("{\"id\":\"x\"}".utf8)) }
        // Unknown version.
        #expect(throws: TranscoderError.self) { try transcoder.decode(BinarySessionTranscoder.magic + [99]) }
    }

    @Test func randomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let valid = (try? transcoder.encode(Self.sample())) ?? []
        for i in 0..<5_000 {
            var blob = valid
            if i % 2 == 0 {
                for _ in 0..<(1 + i % 8) {
                    blob[Int.random(in: 0..<blob.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            } else {
                blob = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            _ = try? transcoder.decode(blob)
        }
    }
}
