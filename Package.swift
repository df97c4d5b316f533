// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Docket",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "docket", targets: ["docket"]),
        .library(name: "DocketCore", targets: ["DocketCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]
        ),
        .target(
            name: "DocketCore",
            dependencies: ["CSQLite", "CSodium", "CLibCrypto", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "DocketCLI",
            dependencies: ["DocketCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "docket", dependencies: ["DocketCLI"]),
        // Benchmarks (tools/bench): the in-process measurements, and a hello-world built the same way as the
        // baseline for process start-up.
        .executableTarget(name: "docket-bench", dependencies: ["DocketCore", "CSQLite", "CSodium"]),
        .executableTarget(name: "bench-hello"),
        .testTarget(
            name: "DocketCoreTests",
            dependencies: ["DocketCore"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "DocketCLITests", dependencies: ["DocketCLI", "DocketCore"]),
    ],
    swiftLanguageModes: [.v6]
)
