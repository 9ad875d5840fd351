import Foundation
import SessionTesting
import Testing

@testable import SessionManager

/// Properties every standard transcoder must have, over random session trees.
@Suite(.capturedLog) struct TranscoderPropertyTests {
    static let transcoders: [any SessionTranscoder] = [BinarySessionTranscoder(), JSONSessionTranscoder(), PropertyListSessionTranscoder()]
    static let names = transcoders.map(\.name)

    static func transcoder(_ name: String) -> any SessionTranscoder {
        transcoders.first { $0.name == name } ?? BinarySessionTranscoder()
    }

    @Test(arguments: names) func randomTreesRoundTripExactly(name: String) async throws {
        let transcoder = Self.transcoder(name)
        var random = RandomSessionValues(seed: 0x5E55_1011)
        for round in 0..<2_000 {
            if round % 100 == 0 { await Task.yield() }  // do not hold a cooperative thread for long
            let snapshot = random.snapshot()
            let bytes = try transcoder.encode(snapshot)
            let decoded = try transcoder.decode(bytes)
            #expect(exactlyEqual(decoded, snapshot), "\(name) round \(round): \(snapshot) became \(decoded)")
            if !exactlyEqual(decoded, snapshot) { return }
        }
    }

    @Test(arguments: names) func equalSessionsGiveEqualBytes(name: String) throws {
        let transcoder = Self.transcoder(name)
        var random = RandomSessionValues(seed: 42)
        for _ in 0..<200 {
            let snapshot = random.snapshot()
            // The same contents built in another insertion order and with another capacity.
            var other = snapshot
            other.attributes = Dictionary(minimumCapacity: 64)
            for key in snapshot.attributes.keys.sorted().reversed() { other.attributes[key] = snapshot.attributes[key] }
            #expect(try transcoder.encode(snapshot) == transcoder.encode(other))
        }
    }

    @Test(arguments: names) func extremesRoundTrip(name: String) throws {
        let transcoder = Self.transcoder(name)
        let snapshot = SessionSnapshot(
            id: "0123456789ABCDEF0123456789ABCDEF",
            creationTime: Date(timeIntervalSinceReferenceDate: 0.1),
            lastAccessedTime: Date(timeIntervalSinceReferenceDate: 1_000_000_000.000_001),
            maxInactiveInterval: 1800,
            attributes: [
                "min": .int(.min), "max": .int(.max), "emptyList": [], "emptyMap": [:], "emptyString": "", "emptyBytes": .bytes([]),
                "nan": .double(.nan), "inf": .double(.infinity), "-inf": .double(-.infinity), "-0": .double(-0.0), "one": .double(1),
                "tiny": .double(.leastNonzeroMagnitude), "huge": .double(.greatestFiniteMagnitude),
                "allBytes": .bytes(Array(0...255)), "unicode": "Zoë 🎉 \u{0} \u{1F} \"quoted\" \\ 中文 e\u{301}",
                "when": .date(Date(timeIntervalSinceReferenceDate: 1234.000_000_1)),
                "$date": "looks like a tag", "$$x": 1, "nested": ["$bytes": ["$double": [1, [2, [3]]]]],
            ]
        )
        let decoded = try transcoder.decode(try transcoder.encode(snapshot))
        #expect(exactlyEqual(decoded, snapshot))
    }

    @Test(arguments: names) func nestingBeyondTheLimitIsAnEncodeError(name: String) throws {
        let transcoder = Self.transcoder(name)
        var value: SessionValue = 1
        for _ in 0..<100 { value = [value] }
        let snapshot = SessionSnapshot(id: "A", creationTime: Date(), lastAccessedTime: Date(), maxInactiveInterval: 1, attributes: ["deep": value])
        #expect(throws: TranscoderError.self) { try transcoder.encode(snapshot) }
    }

    @Test(arguments: names) func eachRecognisesOnlyItsOwnBlobs(name: String) throws {
        let transcoder = Self.transcoder(name)
        let snapshot = BinarySessionTranscoderTests.sample()
        for other in Self.transcoders {
            let blob = try other.encode(snapshot)
            #expect(transcoder.recognizes(blob) == (other.name == name))
            if other.name != name {
                #expect(throws: TranscoderError.self) { try transcoder.decode(blob) }
            }
        }
        #expect(SessionTranscoders.standard.identify(try transcoder.encode(snapshot)) == name)
    }
}

extension TranscoderPropertyTests {
    /// Plist writers share equal objects; many equal values must still read back (within the
    /// reader's visit budget) and keep their types.
    @Test(arguments: names) func manyEqualValuesRoundTrip(name: String) throws {
        let transcoder = Self.transcoder(name)
        let values: [SessionValue] = [1, 1.0, true, "x", .bytes([1]), .date(Date(timeIntervalSinceReferenceDate: 1)), .null, 0, false, 0.0]
        let snapshot = SessionSnapshot(
            id: "A", creationTime: Date(timeIntervalSinceReferenceDate: 1), lastAccessedTime: Date(timeIntervalSinceReferenceDate: 1),
            maxInactiveInterval: 1, attributes: ["list": .array((0..<1000).map { values[$0 % values.count] })]
        )
        #expect(exactlyEqual(try transcoder.decode(try transcoder.encode(snapshot)), snapshot))
    }
}
