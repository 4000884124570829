# The simulator's small run (sim/run.py --small --check): 12,000 launchers
# with distinct client keys against nginx with the module (2 workers), a
# day of 8 s, two days; the rate cap scenario must keep its peak within 2%
# of the cap, and its mean over the seconds offered 1.5 times the cap
# within +2%/-5% (a loaded test machine may not run a worker for longer
# than the burst's time: make sim and bench/rate.sh measure the precision),
# and the ramp scenario must reach 95% adoption inside its planned window
# (its last step plus a day).  The bad-release scenario (30% of the
# launchers fail; client-bound tokens, halt_on failures=5% min=20; each
# granted launcher reports on the real report endpoint with the Location
# of its 302 as its grant) must be halted by its rule, no check sent after
# the first halted answer may be granted, and the installs must stay
# within the sample at the halt plus the connections in flight.  About 60 s.
#
# Plain Test::More; nginx on 127.0.0.1, port TEST_NGINX_PORT + 191.

use strict;
use warnings;

use Test::More;
use FindBin;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless defined $ENV{TEST_NGINX_LOAD_MODULES};

local $ENV{SIM_PORT} = ($ENV{TEST_NGINX_PORT} || 1984) + 191;
local $ENV{TEST_NGINX_BINARY} = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

my $out = `/usr/bin/python3 '$FindBin::Bin/../sim/run.py' --small --check 2>&1`;
my $rc = $? >> 8;

note($out);

is($rc, 0, 'sim/run.py --small --check: the cap, the ramp and the halt hold');
like($out, qr/^\| cap \| (\d+) \|/m, 'the cap scenario ran');
like($out, qr/^\| ramp \| \d+ \| [^|]+ \| \d+ s /m,
     'the ramp scenario reached 95%');

# the bad release: | bad (30% fail) | halt at | before | after | last |
# installs (failed) | the sample at the halt | halted answers |
my ($at, $before, $after, $installs, $k, $n, $halted) = $out =~
    /^\| bad \(30% fail\) \| ([\d.]+) s \| (\d+) \| (\d+) \| [^|]+ \| (\d+) \(\d+\) \| (\d+) failures in (\d+) outcomes \| (\d+) \|/m;
ok(defined $at, 'the bad release was halted') or diag($out);
is($after, 0, 'no check sent after the halt was granted');
cmp_ok($n, '>=', 20, 'the halt came with at least min=20 outcomes');
cmp_ok($installs, '<=', $n + 32,
       'installs of the bad version: at most the sample at the halt and the '
       . '32 connections in flight');
cmp_ok($halted, '>', 10000, 'the later checks were answered "halted"');
like($out, qr/halted_by_rule true/, "the module's funnel says halted_by_rule");
unlike($out, qr/^FAIL/m, 'no goal failed');

done_testing();
