use netns_test::netns_test;

struct Fixture;

#[netns_test]
impl Fixture {
    fn run() {}
}

fn main() {}
