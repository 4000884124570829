# The demo's first minutes (examples/demo.sh, behind "make run" and "make
# stop"): it starts on the ports it is given, says where its configuration
# and logs are, and its upgrade answers carry Tauri's signature; a port in
# use is refused with one line that names it; "stop" stops everything the
# demos started, the sample shard of examples/launcher/demo.sh too.
#
# Plain Test::More: the demo runs in a folder of its own (DEMO_DIR), on
# ports TEST_NGINX_PORT + 140 .. 143, with the module of
# TEST_NGINX_LOAD_MODULES (skipped when that is unset or empty: the demo
# loads the module with load_module).

use strict;
use warnings;

use Test::More;
use Cwd qw(cwd);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64);
use Time::HiRes qw(time sleep);

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} // '';
my ($so) = split ' ', $modules;

plan skip_all => 'TEST_NGINX_LOAD_MODULES does not name the dynamic module'
    unless $so && -f $so;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $base = ($ENV{TEST_NGINX_PORT} || 1984) + 140;
my ($port, $tls, $busy, $shard) = ($base, $base + 1, $base + 2, $base + 3);

my $top = cwd();
my $dir = tempdir('staged-update-demo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;    # nginx's workers read the releases in it
my %env = (DEMO_DIR => "$dir/demo", MODULE => $so, NGINX => $nginx);

sub demo {
    my ($cmd, %e) = @_;

    local @ENV{ keys %env, keys %e } = (values %env, values %e);
    my $out = `'$top/examples/demo.sh' $cmd 2>&1`;

    return ($? >> 8, $out);
}

sub listening {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => shift,
                                  Proto => 'tcp', Timeout => 2);
    return $s ? 1 : 0;
}

sub alive { kill 0, shift }

END { local $?; demo('stop') if $dir && -d "$dir/demo" }

for my $p ($port, $tls, $busy, $shard) {
    BAIL_OUT("127.0.0.1:$p is in use (TEST_NGINX_PORT moves the ports)")
        if listening($p);
}

# start: the ports given, where the configuration and the logs are

my ($rc, $out) = demo('start', PORT => $port, TLS_PORT => $tls);

is($rc, 0, "the demo starts on $port and $tls") or diag($out);
like($out, qr{^\s*configuration: \Q$dir\E/demo/nginx\.conf}m,
     'it says where its configuration is');
like($out, qr{^\s*logs: +\Q$dir\E/demo/error\.log, \Q$dir\E/demo/access\.log}m,
     'it says where its logs are');
ok(listening($port) && listening($tls), "it listens on $port and $tls");

my $answer = `curl -s 'http://127.0.0.1:$port/update/check?version=1.9.0&client=K'`;
like($answer, qr/^\{"version":"2\.0\.0"/, 'a check is answered');

# Tauri's signature of the demo's upgrade, verified by minisign

my ($sig) = $answer =~ /"signature":"([^"]+)"/;
my ($url) = $answer =~ /"url":"([^"]+)"/;

ok($sig && $url, 'the upgrade answer carries url and signature');

if ($sig && $url) {
    my $t = tempdir(CLEANUP => 1);

    system("curl -s -o $t/artifact 'http://127.0.0.1:$port$url'");
    open my $fh, '>', "$t/artifact.minisig" or die "$t: $!\n";
    print $fh decode_base64($sig);
    close $fh;

    my $key = `'$top/tools/minisign-pubkey.sh' -P $dir/demo/keys/manifest.pem`;
    chomp $key;
    my $v = `minisign -Vm $t/artifact -P '$key' 2>&1`;

    is($?, 0, 'minisign verifies the artifact with the demo key') or diag($v);
}

# a busy port: one line that names it, and the demo does not start

my $holder = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $busy, Listen => 1,
                                   ReuseAddr => 1)
    or die "cannot listen on $busy: $!\n";

($rc, $out) = demo('start', PORT => $busy, TLS_PORT => $tls);

isnt($rc, 0, "a start on the busy port $busy fails");
is($out =~ tr/\n//, 1, 'with one line') or diag($out);
like($out, qr/127\.0\.0\.1:$busy is in use/, 'which names the port');

close $holder;

# stop: nginx and the sample shard (as examples/launcher/demo.sh starts it)

($rc, $out) = demo('start', PORT => $port, TLS_PORT => $tls);
is($rc, 0, 'the demo starts again') or diag($out);

my $pid = fork // die "fork: $!\n";

if ($pid == 0) {
    exec 'python3', "$top/examples/shard/shard.py", '--port', $shard,
         '--id', 'shard-1', '--users', 'alice:secret';
    exit 127;
}

open my $fh, '>', "$dir/demo/shard.pid" or die "$dir: $!\n";
print $fh "$pid\n";
close $fh;

my $deadline = time + 10;
sleep 0.05 while !listening($shard) && time < $deadline;
ok(listening($shard), "the sample shard listens on $shard");

($rc, $out) = demo('stop');
is($rc, 0, 'stop') or diag($out);

waitpid $pid, 0;

ok(!listening($port) && !listening($tls) && !listening($shard),
   'after stop, nothing listens on the demo\'s and the shard\'s ports');
ok(!-e "$dir/demo/nginx.pid" && !-e "$dir/demo/shard.pid",
   'and their pid files are gone');

done_testing();
