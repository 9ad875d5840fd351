import Foundation
import MemcachedSessionStore
import NIOCore
import NIOPosix
import RedisSessionStore
import SessionHTTP
import ServiceLifecycle
import SessionManager
import Synchronization

// The store clients alone, as a request uses them: N concurrent tasks, each running on an event
// loop as the server's requests do, loop over their own key doing get-and-touch, then set of a
// 200-byte value. Prints operations per second (each get-and-touch and each set is one).
//
//   swift run -c release StoreClientBench redis 6379 [seconds] [16,64,256]
//   swift run -c release StoreClientBench memcached 11211 [seconds] [16,64,256]
//
// Benchmarks/store-client.sh starts the servers and runs this beside redis-benchmark and memaslap.

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[2]), ["redis", "memcached"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: StoreClientBench redis|memcached PORT [SECONDS] [N,N,...]\n".utf8))
    exit(2)
}
let kind = arguments[1]
let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 5 : 5
let concurrencies = arguments.count > 4 ? arguments[4].split(separator: ",").compactMap { Int($0) } : [16, 64, 256]

/// The store under test and the loops its workers run on.
struct Bench: Sendable {
    let store: any SessionStore
    let executors: [EventLoopTaskExecutor]
    let value = [UInt8](repeating: 0x61, count: 200)
    let ttl = Duration.seconds(600)

    final class Counter: Sendable {
        let operations = Atomic<Int>(0)
    }

    /// Runs `concurrency` workers for `duration`; returns operations per second.
    func measure(concurrency: Int, duration: Duration) async throws -> Double {
        let counter = Counter()
        let start = ContinuousClock.now
        let stop = start + duration
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask(executorPreference: executors[worker % executors.count]) {
                    let key = "bench:\(worker)"
                    try await store.set(key, value: value, ttl: ttl)
                    var done = 0
                    while ContinuousClock.now < stop {
                        _ = try await store.getAndTouch(key, ttl: ttl)
                        try await store.set(key, value: value, ttl: ttl)
                        done += 2
                    }
                    counter.operations.add(done, ordering: .relaxed)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(counter.operations.load(ordering: .relaxed)) / seconds
    }
}

let bench = Bench(
    store: kind == "redis"
        ? RedisSessionStore(url: RedisURL(host: "127.0.0.1", port: port))
        : MemcachedSessionStore(host: "127.0.0.1", port: port),
    executors: MultiThreadedEventLoopGroup.singleton.makeIterator().map { EventLoopTaskExecutor(eventLoop: $0) }
)

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await bench.store.run() }
    _ = try await bench.measure(concurrency: 16, duration: .seconds(1))  // warm-up: connections, caches
    for concurrency in concurrencies {
        let rate = try await bench.measure(concurrency: concurrency, duration: .milliseconds(Int(seconds * 1000)))
        print("\(kind) c=\(concurrency) ops/s=\(Int(rate))")
    }
    group.cancelAll()
}
