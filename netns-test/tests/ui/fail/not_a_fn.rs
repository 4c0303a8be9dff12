use netns_test::netns_test;

#[netns_test]
struct Config {
    name: String,
}

fn main() {}
