"""The harvester's partitioner must put a key where Kafka's Java client and aiokafka put it."""

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.partitioning import default_partitioner, murmur2

# From Apache Kafka's UtilsTest.testMurmur2 (the Java client's values, signed 32-bit).
JAVA_CLIENT = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def test_murmur2_gives_the_java_clients_hashes() -> None:
    assert {key: signed(murmur2(key)) for key in JAVA_CLIENT} == JAVA_CLIENT


@given(st.binary(max_size=200))
def test_murmur2_equals_aiokafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_a_key_goes_to_the_partition_aiokafka_chooses(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    expected = every[(aiokafka_murmur2(key) & 0x7FFFFFFF) % partitions]
    assert default_partitioner(key, every, every) == expected


def test_messages_without_a_key_go_to_an_available_partition() -> None:
    assert {default_partitioner(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
