use netns_test::netns_test;

#[netns_test]
fn bounded()
where
    String: Clone,
{
}

fn main() {}
