import { Module } from '@nestjs/common';
import { Runtime } from '@chiptrail/platform';
import { DeliveriesController, MailController, SubscriptionsController } from './alerts.controller';
import { alertsComponents, type AlertsComponents } from './alerts.components';
import { DeliveriesQueries } from './deliveries.queries';
import { Mailer } from './mailer';
import { SubscriptionsService } from './subscriptions.service';

const COMPONENTS = Symbol('AlertsComponents');

@Module({
  controllers: [SubscriptionsController, DeliveriesController, MailController],
  providers: [
    { provide: COMPONENTS, useFactory: (runtime: Runtime) => alertsComponents(runtime), inject: [Runtime] },
    { provide: SubscriptionsService, useFactory: (c: AlertsComponents) => c.subscriptions, inject: [COMPONENTS] },
    { provide: DeliveriesQueries, useFactory: (c: AlertsComponents) => c.deliveriesQueries, inject: [COMPONENTS] },
    { provide: Mailer, useFactory: (c: AlertsComponents) => c.mailer, inject: [COMPONENTS] },
  ],
  exports: [SubscriptionsService, Mailer],
})
export class AlertsModule {}
