import Foundation
import SessionTesting
import Testing

@testable import SessionManager

/// Feeds random and mutated blobs to every decoder: each must return a session or throw a
/// `TranscoderError` — no crash, no hang, no other error. (Also run under `--sanitize=address`.)
/// The generators are seeded: a failure reproduces on every run.
@Suite(.capturedLog) struct TranscoderFuzzTests {
    static let iterations = 100_000

    @Test(arguments: TranscoderPropertyTests.names) func randomAndMutatedBlobsGiveTypedErrorsOnly(name: String) async throws {
        let transcoder = TranscoderPropertyTests.transcoder(name)
        var random = RandomSessionValues(seed: 0xF022)
        let seeds = try (0..<32).map { _ in try transcoder.encode(random.snapshot()) }
        var rng = SplitMix64(seed: 7)
        var decoded = 0, rejected = 0
        for iteration in 0..<Self.iterations {
            // Long synchronous loops would hold a thread of the (2-thread) cooperative pool for
            // seconds and starve the timing-based tests that run beside this one.
            if iteration % 500 == 0 { await Task.yield() }
            let blob = Self.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            do {
                _ = try transcoder.decode(blob)
                decoded += 1
            } catch is TranscoderError {
                rejected += 1
            } catch {
                Issue.record("\(name): untyped error \(error) for \(blob.count) bytes")
                return
            }
        }
        #expect(decoded + rejected == Self.iterations)
        #expect(rejected > Self.iterations / 2, "mutations should mostly be rejected")
    }

    /// One of: random bytes behind the right header, bit flips, byte overwrites, truncation,
    /// insertion, a duplicated slice, or a copy with a random length field pushed to the maximum.
    static func mutate(_ seed: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var blob = seed
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:
            let header = Array(seed.prefix(Int.random(in: 0...min(40, seed.count), using: &rng)))
            return header + (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 1:
            for _ in 0...Int.random(in: 0...3, using: &rng) where !blob.isEmpty {
                blob[Int.random(in: 0..<blob.count, using: &rng)] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            }
        case 2:
            for _ in 0...Int.random(in: 0...3, using: &rng) where !blob.isEmpty {
                blob[Int.random(in: 0..<blob.count, using: &rng)] = [0x00, 0xFF, 0x7F, 0x80, 0x22, 0x5C, 0x7B, 0x5B, 0x24].randomElement(using: &rng)!
            }
        case 3:
            blob = Array(blob.prefix(Int.random(in: 0...blob.count, using: &rng)))
        case 4:
            let at = Int.random(in: 0...blob.count, using: &rng)
            blob.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
        case 5 where blob.count > 2:
            let start = Int.random(in: 0..<blob.count - 1, using: &rng)
            let end = Int.random(in: start + 1...blob.count, using: &rng)
            blob.insert(contentsOf: blob[start..<end], at: Int.random(in: 0...blob.count, using: &rng))
        default:
            if !blob.isEmpty {
                let at = Int.random(in: 0..<blob.count, using: &rng)
                let run = min(blob.count - at, 10)
                for i in 0..<run { blob[at + i] = i == run - 1 ? 0x01 : 0xFF }
            }
        }
        return blob
    }

    @Test func hostileJSONIsRejectedQuickly() {
        let transcoder = JSONSessionTranscoder()
        let header = Array(#"{"format":"swift-session-manager/json","version":1,"id":"A","creationTime":0.0,"lastAccessedTime":0.0,"maxInactiveInterval":1,"attributes":{"x":"#.utf8)
        let hostile: [[UInt8]] = [
            header + [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000),
            header + Array(String(repeating: #"{"a":"#, count: 200_000).utf8),
            header + [UInt8](repeating: UInt8(ascii: "9"), count: 1_000_000),
            header + Array(#""\ud800""#.utf8) + Array("}}".utf8),
            header + Array(#"{"$bytes":"AAA"}}}"#.utf8),
            header + Array(#"{"$date":1e999}}}"#.utf8),
            header + Array(#"{"$unknown":1}}}"#.utf8),
            header + Array("1}, \"attributes\":{}}".utf8),
        ]
        for blob in hostile {
            #expect(throws: TranscoderError.self) { try transcoder.decode(blob) }
        }
    }

    @Test func hostilePropertyListsAreRejected() throws {
        let transcoder = PropertyListSessionTranscoder()
        // Valid plists that are not sessions, and nesting beyond the limit.
        var deep: Any = ["i": 1]
        for _ in 0..<200 { deep = ["a": [deep]] }
        let plists: [Any] = [["not", "a", "session"], "text", ["swift-session-manager/plist", 2], [
            "swift-session-manager/plist", 1, "A", Date(), Date(), 1, ["x", deep],
        ]]
        for plist in plists {
            let data = try PropertyListSerialization.data(fromPropertyList: plist, format: .binary, options: 0)
            #expect(throws: TranscoderError.self) { try transcoder.decode(Array(data)) }
        }
    }
}

extension TranscoderFuzzTests {
    /// A mutated blob that made Foundation's own plist reader trap (found by the fuzz test above).
    @Test func propertyListThatCrashedFoundationIsATypedError() {
        let hex = "62706c6973743030a7010203040506075f101b73776966742d73657373696f6e2d6d616e616765722f706c69737410015f102639393136423334454545324132333339324132463630323636443933344544332e6e6f6465313341d5f04556943c0c3341acec18e1e0620711cb8eaf181208090c0d101113141617252628292a2b2d2e50d10a0b51794dd1bcc1402b32d2ae458e22faf16a000c02924e05001c036d031a005603334e08031ed10e0f51642339aea018f905b02d69002400240013036e030602830062d83ddca0d10e12237ff80000000000006c0024002401b000110066002dd83cdfb802d1d83dddff00dbd10a154f101a55221bad8adf7230ab22bc61115568569b58417ccce2f7c8ff5b5144d118195161a41a1d1f22d11b1c5173565c7530303030d10a1e4f100f441dcfe9f819ce17e6ab9457175e65d12021516e09d12324517433c1d23fe84e0cc1ab6a007e4e1bd83ddcf7035a02ff4e3fd83ddd610365d11b276a036f02324e270046035300260033016803484e666d02894e3702f9005cd83ddcd300c002b701bc03650317d83cdff8d10e126b032d4e38030d0031001d00114e790355030100520014d10a2c4f10118ad5c00c38fb15437c649a401d85934062614e5ed1202100080010002e003000590062006b006e0083008400870089009700ac00af00b100ba00cd00d000d900f200f50112011401170119011e01210123012a012d013f0142014401450148014a01530168016b0180019b019e01b501b801cc01cf0080000000000201000000000000002f000000000000000000000000000001d2"
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        #expect(throws: TranscoderError.self) { try PropertyListSessionTranscoder().decode(bytes) }
    }

    /// Shared references: an array whose elements all point at one nested array, many levels deep,
    /// would expand to 2^levels values; the reader's visit budget stops it.
    @Test func propertyListWithExponentialSharingIsRejected() throws {
        // Objects: 0 = root array [fmt, 1, id, date, date, 1, attrs], built by hand.
        var objects: [[UInt8]] = []
        func add(_ object: [UInt8]) -> UInt8 { objects.append(object); return UInt8(objects.count - 1) }
        let format = add([0x5F, 0x10, 27] + Array(PropertyListSessionTranscoder.format.utf8))
        let one = add([0x10, 1])
        let id = add([0x51] + Array("A".utf8))
        let date = add([0x33] + [UInt8](repeating: 0, count: 8))
        var level = add([0xA0])
        for _ in 0..<60 { level = add([0xA4, level, level, level, level]) }
        let root = add([0xA7, format, one, id, date, date, one, level])
        var body: [UInt8] = Array("bplist00".utf8)
        var offsets: [UInt16] = []
        for object in objects { offsets.append(UInt16(body.count)); body += object }
        let table = body.count
        for offset in offsets { body += [UInt8(offset >> 8), UInt8(offset & 0xFF)] }
        body += [0, 0, 0, 0, 0, 0, 2, 1]
        body += [0, 0, 0, 0, 0, 0, 0, UInt8(objects.count)]
        body += [0, 0, 0, 0, 0, 0, 0, root]
        body += [0, 0, 0, 0, 0, 0, UInt8(table >> 8), UInt8(table & 0xFF)]
        let error = #expect(throws: TranscoderError.self) { try PropertyListSessionTranscoder().decode(body) }
        #expect(error?.message.contains("too many object visits") == true, "\(String(describing: error))")
    }
}
