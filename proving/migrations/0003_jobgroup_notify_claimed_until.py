from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("proving", "0002_i13_proof_calldata"),
    ]

    operations = [
        migrations.AddField(
            model_name="jobgroup",
            name="notify_claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
